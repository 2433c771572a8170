// tapegrad-vae as a library: every subcommand (train, eval, sample, interpolate,
// reconstruct) for every registered model (registry.hpp). The tapegrad-vae program
// is this with the built-in models; a program of one's own registers its model and
// calls run() with its arguments.
#pragma once

namespace tapegrad::models::cli {

// Parses the arguments and runs the subcommand; returns the exit status (0, 1 for
// an error, which is printed as one line, 130 after Ctrl-C, 143 after SIGTERM).
int run(int argc, char** argv);

}  // namespace tapegrad::models::cli
