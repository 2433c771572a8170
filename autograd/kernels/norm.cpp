// Layer normalisation (norm.hpp). Rows are independent: the pool's threads take
// ranges of rows; the parameter gradients are column sums, added in row order.
#include "autograd/kernels/norm.hpp"

#include <algorithm>
#include <cmath>

#include "autograd/kernels/parallel.hpp"
#include "autograd/kernels/simd.hpp"

namespace tapegrad::kernels {

void layer_norm(const float* x, const float* w, const float* b, float eps, std::size_t rows, std::size_t D, float* y,
                float* xhat, float* r) {
    const float inv_d = 1.0f / static_cast<float>(D);
    parallel_for(rows, 64, [&](std::size_t from, std::size_t to, std::size_t) {
        for (std::size_t i = from; i < to; ++i) {
            const float* xi = x + i * D;
            float* hi = xhat + i * D;
            float* yi = y + i * D;
            const float mu = sum(xi, D) * inv_d;
            float var = 0.0f;
#pragma omp simd reduction(+ : var)
            for (std::size_t j = 0; j < D; ++j) {
                hi[j] = xi[j] - mu;
                var += hi[j] * hi[j];
            }
            const float ri = 1.0f / std::sqrt(var * inv_d + eps);
            r[i] = ri;
#pragma omp simd
            for (std::size_t j = 0; j < D; ++j) {
                hi[j] *= ri;
                yi[j] = hi[j] * (w ? w[j] : 1.0f) + (b ? b[j] : 0.0f);
            }
        }
    }, 1);
}

void layer_norm_backward(const float* g, const float* xhat, const float* r, const float* w, std::size_t rows,
                         std::size_t D, float* dx, float* dw, float* db) {
    const float inv_d = 1.0f / static_cast<float>(D);
    if (dx)
        parallel_for(rows, 64, [&](std::size_t from, std::size_t to, std::size_t) {
            for (std::size_t i = from; i < to; ++i) {
                const float* gi = g + i * D;
                const float* hi = xhat + i * D;
                float* di = dx + i * D;
                float mean_gh = 0.0f, mean_ghx = 0.0f;
#pragma omp simd reduction(+ : mean_gh, mean_ghx)
                for (std::size_t j = 0; j < D; ++j) {
                    const float gh = gi[j] * (w ? w[j] : 1.0f);
                    mean_gh += gh;
                    mean_ghx += gh * hi[j];
                }
                mean_gh *= inv_d;
                mean_ghx *= inv_d;
#pragma omp simd
                for (std::size_t j = 0; j < D; ++j)
                    di[j] = r[i] * (gi[j] * (w ? w[j] : 1.0f) - mean_gh - hi[j] * mean_ghx);
            }
        }, 1);
    if (dw) std::fill(dw, dw + D, 0.0f);
    if (db) std::fill(db, db + D, 0.0f);
    for (std::size_t i = 0; i < rows; ++i) {
        const float* gi = g + i * D;
        const float* hi = xhat + i * D;
        if (dw)
#pragma omp simd
            for (std::size_t j = 0; j < D; ++j) dw[j] += gi[j] * hi[j];
        if (db) axpy(1.0f, gi, db, D);
    }
}

}  // namespace tapegrad::kernels
