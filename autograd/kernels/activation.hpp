// GELU's loops (Hendrycks & Gimpel 2016): y = x Phi(x), Phi the standard normal
// CDF, in PyTorch's two forms,
//   exact:  Phi(x) = (1 + erf(x / sqrt 2)) / 2,   Phi'(x) = e^(-x^2/2) / sqrt(2 pi)
//   tanh:   Phi(x) ~ (1 + tanh u) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3)
// and the backward dx = g (Phi(x) + x Phi'(x)). Vectorised (xsimd) and split over
// the thread pool: erf and tanh cost enough per element that a second thread pays
// (unlike a copy or an add, which memory bandwidth bounds). Every element is
// computed alone, so any number of threads gives the same bits.
#pragma once

#include <cstddef>

namespace tapegrad::kernels {

enum class GeluForm { exact, tanh };

// y[i] = gelu(x[i]); y may be x.
void gelu(const float* x, std::size_t n, GeluForm form, float* y);
// dx[i] = g[i] gelu'(x[i]); dx may be g.
void gelu_backward(const float* x, const float* g, std::size_t n, GeluForm form, float* dx);

}  // namespace tapegrad::kernels
