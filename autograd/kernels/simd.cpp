// The vectorised loops of simd.hpp.
#include "autograd/kernels/simd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <vector>

#include <xsimd/xsimd.hpp>

#include "autograd/kernels/parallel.hpp"

namespace tapegrad::kernels {

using Batch = xsimd::batch<float>;
constexpr std::size_t W = Batch::size;

// std::fmax(m, v) for a number m (a NaN v leaves m), inline: std::fmax is a call
// into the C library, and the lanes and the tail of short rows (attention's, of a
// few dozen keys) made it a fifth of a masked softmax's time.
inline float larger(float m, float v) { return v > m ? v : m; }

// Loops over at least this many floats (whole gradients, for clipping) are split
// over the pool; shorter ones (rows) run where they are called.
constexpr std::size_t parallel_above = std::size_t{1} << 16;

float max(const float* x, std::size_t n) {
    float m = -std::numeric_limits<float>::infinity();
    std::size_t i = 0;
    if (n >= W) {
        Batch b = Batch::load_unaligned(x);
        for (i = W; i + W <= n; i += W) b = xsimd::max(b, Batch::load_unaligned(x + i));
        alignas(64) float lanes[W];
        b.store_aligned(lanes);
        for (float v : lanes) m = larger(m, v);
    }
    for (; i < n; ++i) m = larger(m, x[i]);
    return m;
}

float add_max(const float* b, float* x, std::size_t n) {
    Batch mb(-std::numeric_limits<float>::infinity());
    std::size_t i = 0;
    for (; i + W <= n; i += W) {
        const Batch v = Batch::load_unaligned(x + i) + Batch::load_unaligned(b + i);
        v.store_unaligned(x + i);
        mb = xsimd::max(mb, v);
    }
    alignas(64) float lanes[W];
    mb.store_aligned(lanes);
    float m = -std::numeric_limits<float>::infinity();
    for (float v : lanes) m = larger(m, v);
    for (; i < n; ++i) {
        x[i] += b[i];
        m = larger(m, x[i]);
    }
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

double sum_of_squares(const float* x, std::size_t n) {
    // Float sums over blocks of 256 batches, each block's total added in double, in
    // order; the blocks are split over the pool, so the result is the same on any
    // number of threads.
    constexpr std::size_t block = 256 * W;
    const std::size_t whole = n / W * W, blocks = (whole + block - 1) / block;
    std::vector<double> partial(blocks);
    parallel_for(blocks, 16, [&](std::size_t begin, std::size_t end, std::size_t) {
        for (std::size_t j = begin; j < end; ++j) {
            Batch acc(0.0f);
            for (std::size_t i = j * block; i < std::min(whole, (j + 1) * block); i += W) {
                const Batch b = Batch::load_unaligned(x + i);
                acc += b * b;
            }
            partial[j] = xsimd::hadd(acc);
        }
    }, 1);
    double total = 0.0;
    for (double p : partial) total += p;
    for (std::size_t i = whole; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
    return total;
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

namespace {
// log1p(e) for e in [0, 1], the only range binary cross-entropy needs (e = exp(-|x|)):
// log(1 + e) = 2 atanh(s) with s = e / (2 + e) in [0, 1/3], and atanh(s) = s (1 + s^2/3
// + s^4/5 + ... + s^14/15): past that term the series is below float precision for
// s <= 1/3. No exponent to split off, so it is one division and eight multiply-adds,
// far cheaper than xsimd's general log1p (docs/performance.md). Its relative error
// over [0, 1] is below 4 x 2^-23 (the test sweeps the range).
inline Batch log1p_unit(const Batch& e) {
    const Batch s = e / (Batch(2.0f) + e);
    const Batch z = s * s;
    Batch p = xsimd::fma(z, Batch(1.0f / 15), Batch(1.0f / 13));
    for (const float c : {1.0f / 11, 1.0f / 9, 1.0f / 7, 1.0f / 5, 1.0f / 3, 1.0f}) p = xsimd::fma(z, p, Batch(c));
    return Batch(2.0f) * s * p;
}
}  // namespace

float log1p_unit(float e) { return log1p_unit(Batch(e)).get(0); }

double bce_with_logits(const float* x, const float* t, float* out, std::size_t n, float* d) {
    double total = 0.0;
    std::size_t i = 0;
    const Batch zero(0.0f), one(1.0f);
    while (i + W <= n) {
        Batch acc(0.0f);
        const std::size_t end = std::min(n, i + 256 * W) / W * W;  // float sums over short blocks
        for (; i < end; i += W) {
            const Batch xb = Batch::load_unaligned(x + i), tb = Batch::load_unaligned(t + i);
            const Batch e = xsimd::exp(-xsimd::abs(xb));
            const Batch l = xsimd::max(xb, zero) - xb * tb + log1p_unit(e);
            if (out) l.store_unaligned(out + i);
            if (d) {  // sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) below
                const Batch r = one / (one + e);
                (xsimd::select(xb >= zero, r, e * r) - tb).store_unaligned(d + i);
            }
            acc += l;
        }
        total += xsimd::hadd(acc);
    }
    for (; i < n; ++i) {
        const float e = std::exp(-std::abs(x[i]));
        const float l = std::max(x[i], 0.0f) - x[i] * t[i] + std::log1p(e);
        if (out) out[i] = l;
        if (d) d[i] = (x[i] >= 0.0f ? 1.0f : e) / (1.0f + e) - t[i];
        total += l;
    }
    return total;
}

bool all_finite(const float* x, std::size_t n) {
    // x - x is 0 for a finite x and NaN for NaN and infinity; NaN != NaN.
    Batch acc(0.0f);
    std::size_t i = 0;
    for (; i + W <= n; i += W) {
        const Batch v = Batch::load_unaligned(x + i);
        acc += v - v;
    }
    float s = xsimd::hadd(acc);
    for (; i < n; ++i) s += x[i] - x[i];
    return s == 0.0f;
}

void axpy(float a, const float* x, float* y, std::size_t n) {
    const Batch ab(a);
    std::size_t i = 0;
    for (; i + W <= n; i += W) xsimd::fma(ab, Batch::load_unaligned(x + i), Batch::load_unaligned(y + i)).store_unaligned(y + i);
    for (; i < n; ++i) y[i] += a * x[i];
}

void scale(float a, float* x, std::size_t n) {
    auto part = [a, x](std::size_t begin, std::size_t end) {
        const Batch ab(a);
        std::size_t i = begin;
        for (; i + W <= end; i += W) (ab * Batch::load_unaligned(x + i)).store_unaligned(x + i);
        for (; i < end; ++i) x[i] *= a;
    };
    if (n < parallel_above) return part(0, n);
    parallel_for(n, parallel_above / 2, [&](std::size_t begin, std::size_t end, std::size_t) { part(begin, end); });
}

void scale_kept(const float* x, const std::uint8_t* keep, float a, float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * (keep[i] ? a : 0.0f);
}

}  // namespace tapegrad::kernels
