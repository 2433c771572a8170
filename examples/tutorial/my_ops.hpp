// The ops of docs/tutorial.md, written by the reader in my_ops.cpp and checked by
// build/examples/tutorial_check. Each has a twin in the library to be compared
// with: my_cube ~ pow(a, 3), my_logsumexp ~ logsumexp(a, -1), my_layer_norm ~ layer_norm.
#pragma once

#include "autograd/autograd.hpp"

namespace tutorial {

using tapegrad::autograd::Tensor;

// Exercise 1: y = a^3, element-wise.
Tensor my_cube(const Tensor& a);

// Exercise 2: y[n] = log sum_j exp(a[n, j]) for a [N, D] -> y [N].
Tensor my_logsumexp(const Tensor& a);

// Exercise 3: layer normalisation of x [N, D] over its last axis, with weight w [D]
// and bias b [D]: y = (x - mean) / sqrt(var + eps) * w + b, var the biased variance.
Tensor my_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps = 1e-5f);

// Exercise 4: rules broken on purpose, for the checker to catch (tutorial_check
// broken-layer-norm, overflow). Leave these as they are.
Tensor broken_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps = 1e-5f);
Tensor naive_logsumexp(const Tensor& a);

}  // namespace tutorial
