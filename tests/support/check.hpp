// Test helpers: deterministic inputs, array comparison, and the finite-difference
// gradient check every op goes through.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/autograd.hpp"
#include "nn/module.hpp"

namespace tapegrad::testing {

using autograd::Tensor;
using Inputs = std::vector<Tensor>;  // the inputs a gradient check perturbs

// Uniform values in [lo, hi) from a generator seeded by `seed` (tests never depend
// on each other's random draws).
Array random_array(const Shape& shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// Largest |a - b| - rtol * |b| over the elements ("how far outside the tolerance");
// <= atol means close. Shapes must match.
struct Closeness {
    bool ok = false;
    std::string report;  // shapes, the worst element and both values
};
Closeness compare(const Array& actual, const Array& expected, double rtol, double atol);

// The finite-difference check. f maps the inputs to any tensor y; the checked
// scalar is L = sum(y * w) with fixed random weights w (so every output element
// counts, each differently). For every input element, the tape's dL/dx is
// compared with the central difference (L(x + h) - L(x - h)) / 2h.
//
// Precision: the engine is float32. L is accumulated in double and h = 1e-2, which
// balances truncation error (~h^2) against float rounding (~1e-7 / h); the
// tolerance |tape - numeric| <= atol + rtol |numeric| (default 2e-3 + 1e-2) then
// separates correct rules from wrong ones (a wrong rule is off by O(1)). Inputs
// are fixed, so the check is deterministic: it cannot be flaky.
struct GradcheckOptions {
    double h = 1e-2;
    double rtol = 1e-2;
    double atol = 2e-3;
};
void check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Array>& inputs,
                     GradcheckOptions options = {});

// The same check for a module's parameters: `loss` computes a scalar from the
// module (it must be deterministic: draw noise under a SeedScope). Up to
// `per_parameter` elements of each parameter are checked, spread over it.
void check_module_gradients(nn::Module& module, const std::function<Tensor()>& loss, GradcheckOptions options = {},
                            std::size_t per_parameter = 6);

}  // namespace tapegrad::testing

// CHECK that two arrays are close, printing the worst element otherwise.
#define CHECK_CLOSE(actual, expected, rtol, atol)                                                    \
    do {                                                                                             \
        auto tapegrad_c = ::tapegrad::testing::compare((actual), (expected), (rtol), (atol));       \
        INFO(tapegrad_c.report);                                                                     \
        CHECK(tapegrad_c.ok);                                                                        \
    } while (0)

#define CHECK_ARRAY_EQ(actual, expected) CHECK_CLOSE(actual, expected, 0.0, 1e-6)
