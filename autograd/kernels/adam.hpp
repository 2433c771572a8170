// Adam's update of one parameter, in one pass over its four arrays (weight,
// gradient, first and second moments): memory-bound once they leave the cache, so
// the fewer passes the better; split over the pool's threads when large.
//   w' = w * decay;   g' = g + l2 * w'
//   m = b1 m + (1 - b1) g';   v = b2 v + (1 - b2) g'^2
//   w = w' - step_size * m / (sqrt(v) * inv_bc2_sqrt + eps)
// (nn/optim.cpp derives the constants: decay for AdamW, l2 for Adam's weight decay,
// the bias corrections.)
#pragma once

#include <cstddef>

namespace tapegrad::kernels {

struct AdamConstants {
    float b1, b2, eps, step_size, inv_bc2_sqrt, decay, l2;
};

void adam_update(float* w, const float* g, float* m, float* v, std::size_t n, const AdamConstants& c);

}  // namespace tapegrad::kernels
