// Adam's update loop (adam.hpp).
#include "autograd/kernels/adam.hpp"

#include <cmath>

#include "autograd/kernels/parallel.hpp"

namespace tapegrad::kernels {

void adam_update(float* w, const float* g, float* m, float* v, std::size_t n, const AdamConstants& c) {
    // One division per element: dividing by the bias correction as well cost a
    // measurable share of the update (docs/performance.md).
    parallel_for(n, std::size_t{1} << 16, [&](std::size_t begin, std::size_t end, std::size_t) {
        const float b1 = c.b1, b2 = c.b2, eps = c.eps, step_size = c.step_size, inv_bc2_sqrt = c.inv_bc2_sqrt;
        const float decay = c.decay, l2 = c.l2;
#pragma omp simd
        for (std::size_t k = begin; k < end; ++k) {
            const float wk = w[k] * decay;
            const float gk = g[k] + l2 * wk;
            m[k] = b1 * m[k] + (1.0f - b1) * gk;
            v[k] = b2 * v[k] + (1.0f - b2) * gk * gk;
            w[k] = wk - step_size * m[k] / (std::sqrt(v[k]) * inv_bc2_sqrt + eps);
        }
    });
}

}  // namespace tapegrad::kernels
