// Checks of command-line numbers, for the flags of tapegrad-vae and of the models it
// knows: every number is checked when the flags are parsed, and a value out of
// range is an error naming the flag, never a default in disguise or an unsigned
// wrap-around (-1 read into a size).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace tapegrad::models::cli {

// A finite number for which ok(v) holds ("what" says which, for the message); with
// whole, also an integer written without a point or exponent.
CLI::Validator number_check(const std::string& what, std::function<bool(double)> ok, bool whole = false);
CLI::Validator at_least(double lo);       // finite, >= lo
CLI::Validator positive();                // finite, > 0
CLI::Validator count_at_least(long lo);   // a whole number >= lo
CLI::Validator probability();             // in [0, 1)

}  // namespace tapegrad::models::cli
