// Vectorised loops over contiguous floats (xsimd), used by the ops whose cost is
// dominated by exp over long rows: softmax, logsumexp, cross-entropy.
// Plain pointers in, plain numbers out: no xtensor here.
#pragma once

#include <cstddef>

namespace tapegrad::autograd::kernels {

float max(const float* x, std::size_t n);
// x[i] += b[i] for all i, and returns the max of the result.
float add_max(const float* b, float* x, std::size_t n);
float sum(const float* x, std::size_t n);
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

// y[i] = a * x[i] + y[i]
void axpy(float a, const float* x, float* y, std::size_t n);
// x[i] *= a
void scale(float a, float* x, std::size_t n);

}  // namespace tapegrad::autograd::kernels

namespace tapegrad::autograd::kernels {

// One GRU step for one row (PyTorch's equations, gate order r, z, n):
//   r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r * gh_n),
//   h = (1 - z) * n + z * hprev.
// gi, gh: [3H] (input and hidden projections with their biases); writes r, z, n, h [H].
void gru_cell(const float* gi, const float* gh, const float* hprev, float* r, float* z, float* n, float* h,
              std::size_t H);
// Its reverse: given dh [H], writes dgi [3H] (= d of the input projection), dgh [3H]
// (= d of the hidden projection) and dhprev [H] (the direct part through z * hprev).
void gru_cell_backward(const float* dh, const float* hprev, const float* r, const float* z, const float* n,
                       const float* gh_n, float* dgi, float* dgh, float* dhprev, std::size_t H);

// One LSTM step for one row (gate order i, f, g, o): a [4H] holds the summed
// projections; i, f, o = sigmoid, g = tanh; c = f * cprev + i * g; h = o * tanh(c).
// Overwrites a with the activated gates and writes c, tc = tanh(c) and h.
void lstm_cell(float* a, const float* cprev, float* c, float* tc, float* h, std::size_t H);
// Its reverse: dh, dc [H] (dc already includes what flows back from the next step);
// gates [4H] activated, writes da [4H] (d of the summed projections) and dcprev [H].
void lstm_cell_backward(const float* dh, const float* dc, const float* gates, const float* cprev, const float* tc,
                        float* da, float* dcprev, std::size_t H);

}  // namespace tapegrad::autograd::kernels
