// tapegrad-vae: train, evaluate and generate from the registered models (the
// built-in ones: text, image, conditional, transformer). Every subcommand and flag
// is in models/cli/cli.cpp; `tapegrad-vae <command> --help` lists them.
// Under mpirun it trains or evaluates data-parallel (docs/distributed.md).
#include "models/cli/cli.hpp"
#include "nn/distributed.hpp"

int main(int argc, char** argv) {
    tapegrad::nn::distributed::Environment mpi(argc, argv);
    return tapegrad::models::cli::run(argc, argv);
}
