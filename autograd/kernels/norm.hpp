// Layer normalisation over the last axis (Ba et al. 2016), on rows of D floats:
//   mu = mean(x),  var = mean((x - mu)^2),  r = 1 / sqrt(var + eps)
//   xhat = (x - mu) r,   y = xhat * w + b
// Its backward, with gh = g * w (the gradient reaching xhat):
//   dx = r (gh - mean(gh) - xhat mean(gh xhat))
//   dw = sum over rows of g xhat,   db = sum over rows of g
// The variance is computed from x - mu (two passes), not as E[x^2] - mu^2, which
// loses digits when |mu| is large against the spread.
#pragma once

#include <cstddef>

namespace tapegrad::kernels {

// x, y [rows, D]; w, b [D] (either may be null: 1 and 0); writes xhat [rows, D]
// and r [rows] for the backward pass.
void layer_norm(const float* x, const float* w, const float* b, float eps, std::size_t rows, std::size_t D, float* y,
                float* xhat, float* r);
// g [rows, D]; writes dx [rows, D] and dw, db [D] (each may be null: not wanted).
void layer_norm_backward(const float* g, const float* xhat, const float* r, const float* w, std::size_t rows,
                         std::size_t D, float* dx, float* dw, float* db);

}  // namespace tapegrad::kernels
