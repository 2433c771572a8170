// tapegrad-vae: train, evaluate and generate from the registered models (the
// built-in ones: text, image, conditional, transformer). Every subcommand and flag
// is in models/cli/cli.cpp; `tapegrad-vae <command> --help` lists them.
#include "models/cli/cli.hpp"

int main(int argc, char** argv) { return tapegrad::models::cli::run(argc, argv); }
