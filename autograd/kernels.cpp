#include "autograd/kernels.hpp"

#include <cmath>
#include <limits>

#include <xsimd/xsimd.hpp>

namespace tapegrad::autograd::kernels {

using Batch = xsimd::batch<float>;
constexpr std::size_t W = Batch::size;

float max(const float* x, std::size_t n) {
    float m = -std::numeric_limits<float>::infinity();
    std::size_t i = 0;
    if (n >= W) {
        Batch b = Batch::load_unaligned(x);
        for (i = W; i + W <= n; i += W) b = xsimd::max(b, Batch::load_unaligned(x + i));
        alignas(64) float lanes[W];
        b.store_aligned(lanes);
        for (float v : lanes) m = std::fmax(m, v);
    }
    for (; i < n; ++i) m = std::fmax(m, x[i]);
    return m;
}

float sum(const float* x, std::size_t n) {
    Batch acc(0.0f);
    std::size_t i = 0;
    for (; i + W <= n; i += W) acc += Batch::load_unaligned(x + i);
    float s = xsimd::hadd(acc);
    for (; i < n; ++i) s += x[i];
    return s;
}

float exp_shift(const float* x, float shift, float* y, std::size_t n) {
    const Batch sh(shift);
    Batch acc(0.0f);
    std::size_t i = 0;
    for (; i + W <= n; i += W) {
        Batch e = xsimd::exp(Batch::load_unaligned(x + i) - sh);
        e.store_unaligned(y + i);
        acc += e;
    }
    float s = xsimd::hadd(acc);
    for (; i < n; ++i) {
        y[i] = std::exp(x[i] - shift);
        s += y[i];
    }
    return s;
}

float logsumexp(const float* x, std::size_t n) {
    const float m = max(x, n);
    if (!std::isfinite(m)) return m;  // all -inf stays -inf; +inf or NaN propagate
    const Batch sh(m);
    Batch acc(0.0f);
    std::size_t i = 0;
    for (; i + W <= n; i += W) acc += xsimd::exp(Batch::load_unaligned(x + i) - sh);
    float s = xsimd::hadd(acc);
    for (; i < n; ++i) s += std::exp(x[i] - m);
    return m + std::log(s);
}

void axpy(float a, const float* x, float* y, std::size_t n) {
    const Batch ab(a);
    std::size_t i = 0;
    for (; i + W <= n; i += W) xsimd::fma(ab, Batch::load_unaligned(x + i), Batch::load_unaligned(y + i)).store_unaligned(y + i);
    for (; i < n; ++i) y[i] += a * x[i];
}

void scale(float a, float* x, std::size_t n) {
    const Batch ab(a);
    std::size_t i = 0;
    for (; i + W <= n; i += W) (ab * Batch::load_unaligned(x + i)).store_unaligned(x + i);
    for (; i < n; ++i) x[i] *= a;
}

}  // namespace tapegrad::autograd::kernels
