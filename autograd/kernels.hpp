// Vectorised loops over contiguous floats (xsimd), used by the ops whose cost is
// dominated by exp over long rows: softmax, logsumexp, cross-entropy.
// Plain pointers in, plain numbers out: no xtensor here.
#pragma once

#include <cstddef>

namespace tapegrad::autograd::kernels {

float max(const float* x, std::size_t n);
float sum(const float* x, std::size_t n);
// y[i] = exp(x[i] - shift) for all i, and returns the sum of the y[i]. y may be x.
float exp_shift(const float* x, float shift, float* y, std::size_t n);
// log(sum_i exp(x[i])) without overflow (max-shifted).
float logsumexp(const float* x, std::size_t n);
// y[i] = a * x[i] + y[i]
void axpy(float a, const float* x, float* y, std::size_t n);
// x[i] *= a
void scale(float a, float* x, std::size_t n);

}  // namespace tapegrad::autograd::kernels
