// Vectorised loops over contiguous floats (xsimd): the building blocks of the
// softmax family, the losses and the gradient sums. Plain pointers in, plain
// numbers out: no xtensor here. Only whole gradients are long enough to share
// among threads (sum_of_squares, scale).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapegrad::kernels {

float max(const float* x, std::size_t n);
// x[i] += b[i] for all i, and returns the max of the result.
float add_max(const float* b, float* x, std::size_t n);
float sum(const float* x, std::size_t n);
// The sum of x[i]^2, accumulated in double per block (gradient-norm clipping);
// long arrays are split over the pool, with the same result on any number of threads.
double sum_of_squares(const float* x, std::size_t n);
// y[i] = exp(x[i] - shift) for all i, and returns the sum of the y[i]. y may be x.
float exp_shift(const float* x, float shift, float* y, std::size_t n);
// log(sum_i exp(x[i])) without overflow (max-shifted).
float logsumexp(const float* x, std::size_t n);
// Binary cross-entropy with logits, element-wise: l = max(x, 0) - x t + log1p(exp(-|x|)).
// Writes l into out (if not null) and returns the sum (accumulated in double per block).
// With d not null, also writes d = sigmoid(x) - t (the gradient of the sum) from the
// same exp(-|x|): one exp per element for loss and gradient together.
double bce_with_logits(const float* x, const float* t, float* out, std::size_t n, float* d = nullptr);
// log1p(e) for e in [0, 1], as bce_with_logits computes it (exposed for its test).
float log1p_unit(float e);

// Whether no x[i] is NaN or infinite.
bool all_finite(const float* x, std::size_t n);

// y[i] = a * x[i] + y[i]
void axpy(float a, const float* x, float* y, std::size_t n);
// x[i] *= a (split over the pool from 2^16 floats on)
void scale(float a, float* x, std::size_t n);
// Dropout with a byte mask: y[i] = x[i] * (keep[i] ? a : 0). (Multiplied, not
// selected: the same numbers as a float mask of 0 and a, signed zeros included.)
void scale_kept(const float* x, const std::uint8_t* keep, float a, float* y, std::size_t n);

}  // namespace tapegrad::kernels
