// Reading the PyTorch fixtures of tests/fixtures (written by make_fixtures.py).
#pragma once

#include <string>

#include "autograd/array.hpp"

namespace tapegrad::testing {

// tests/fixtures/<group>/<name>.npy as float32 / int64.
Array fixture(const std::string& group, const std::string& name);
Indices fixture_ids(const std::string& group, const std::string& name);

// Agreement with PyTorch: relative error <= 1e-4 (plus 1e-6 absolute, for zeros).
inline constexpr double torch_rtol = 1e-4;
inline constexpr double torch_atol = 1e-6;

}  // namespace tapegrad::testing

#define CHECK_TORCH(actual, expected) CHECK_CLOSE(actual, expected, ::tapegrad::testing::torch_rtol, ::tapegrad::testing::torch_atol)
