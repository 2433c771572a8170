// Loops along an axis (reduce.hpp), built from the vectorised loops of simd.hpp.
#include "autograd/kernels/reduce.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "autograd/kernels/memory.hpp"
#include "autograd/kernels/simd.hpp"

namespace tapegrad::kernels {

namespace {

// Runs f(lane_in, lane_out, n) over every lane; lanes are contiguous pointers
// (copied through buffers when the axis is not the last one).
template <class F>
void for_lanes(const float* x, float* y, AxisSplit s, F&& f) {
    if (s.inner == 1) {
        for (std::size_t o = 0; o < s.outer; ++o) f(x + o * s.n, y + o * s.n, s.n);
        return;
    }
    std::vector<float> bx(s.n), by(s.n);
    for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t i = 0; i < s.inner; ++i) {
            const std::size_t base = o * s.n * s.inner + i;
            for (std::size_t k = 0; k < s.n; ++k) bx[k] = x[base + k * s.inner];
            f(bx.data(), by.data(), s.n);
            for (std::size_t k = 0; k < s.n; ++k) y[base + k * s.inner] = by[k];
        }
}

// As for_lanes, with a gradient and a saved value in and one result out.
template <class F>
void for_gradient_lanes(const float* g, const float* v, float* out, AxisSplit s, F&& f) {
    if (s.inner == 1) {
        for (std::size_t o = 0; o < s.outer; ++o) f(g + o * s.n, v + o * s.n, out + o * s.n, s.n);
        return;
    }
    std::vector<float> bg(s.n), bv(s.n), bo(s.n);
    for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t i = 0; i < s.inner; ++i) {
            const std::size_t base = o * s.n * s.inner + i;
            for (std::size_t k = 0; k < s.n; ++k) {
                bg[k] = g[base + k * s.inner];
                bv[k] = v[base + k * s.inner];
            }
            f(bg.data(), bv.data(), bo.data(), s.n);
            for (std::size_t k = 0; k < s.n; ++k) out[base + k * s.inner] = bo[k];
        }
}

}  // namespace

void sum_axis(const float* x, AxisSplit s, float* y) {
    std::fill(y, y + s.outer * s.inner, 0.0f);
    for (std::size_t o = 0; o < s.outer; ++o) {
        const float* xo = x + o * s.n * s.inner;
        float* yo = y + o * s.inner;
        if (s.inner == 1)
            yo[0] = sum(xo, s.n);
        else
            for (std::size_t k = 0; k < s.n; ++k) axpy(1.0f, xo + k * s.inner, yo, s.inner);
    }
}

void max_axis(const float* x, AxisSplit s, float* y, std::uint32_t* arg) {
    for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t i = 0; i < s.inner; ++i) {
            const float* lane = x + o * s.n * s.inner + i;
            std::size_t best = 0;
            for (std::size_t k = 1; k < s.n; ++k)
                if (lane[k * s.inner] > lane[best * s.inner]) best = k;
            arg[o * s.inner + i] = static_cast<std::uint32_t>(best);
            y[o * s.inner + i] = lane[best * s.inner];
        }
}

void max_axis_backward(const float* g, const std::uint32_t* arg, AxisSplit s, float* d) {
    std::fill(d, d + s.outer * s.n * s.inner, 0.0f);
    for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t i = 0; i < s.inner; ++i) {
            const std::size_t j = o * s.inner + i;
            d[o * s.n * s.inner + arg[j] * s.inner + i] = g[j];
        }
}

void logsumexp_axis(const float* x, AxisSplit s, float* y) {
    // Each lane's result goes to the lane's first slot of a full-size buffer, then
    // is picked out: one lane loop for every axis.
    Buffer full(s.outer * s.n * s.inner);
    for_lanes(x, full.data(), s, [](const float* l, float* o, std::size_t n) { o[0] = logsumexp(l, n); });
    for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t i = 0; i < s.inner; ++i) y[o * s.inner + i] = full.data()[o * s.n * s.inner + i];
}

void softmax_axis(const float* x, AxisSplit s, float* y) {
    for_lanes(x, y, s, [](const float* l, float* o, std::size_t n) {
        const float m = max(l, n);
        if (m == -std::numeric_limits<float>::infinity()) {  // every entry masked out: no mass anywhere
            std::fill(o, o + n, 0.0f);
            return;
        }
        const float total = exp_shift(l, m, o, n);
        scale(1.0f / total, o, n);
    });
}

void softmax_axis_backward(const float* g, const float* y, AxisSplit s, float* d) {
    for_gradient_lanes(g, y, d, s, [](const float* gl, const float* yl, float* dl, std::size_t n) {
        float dot = 0.0f;
        for (std::size_t k = 0; k < n; ++k) dot += gl[k] * yl[k];
        for (std::size_t k = 0; k < n; ++k) dl[k] = yl[k] * (gl[k] - dot);
    });
}

void log_softmax_axis(const float* x, AxisSplit s, float* y) {
    for_lanes(x, y, s, [](const float* l, float* o, std::size_t n) {
        const float lse = logsumexp(l, n);
        if (lse == -std::numeric_limits<float>::infinity()) {  // every entry masked out
            std::fill(o, o + n, lse);
            return;
        }
        for (std::size_t k = 0; k < n; ++k) o[k] = l[k] - lse;
    });
}

void log_softmax_axis_backward(const float* g, const float* y, AxisSplit s, float* d) {
    for_gradient_lanes(g, y, d, s, [](const float* gl, const float* yl, float* dl, std::size_t n) {
        const float gs = sum(gl, n);
        exp_shift(yl, 0.0f, dl, n);
        for (std::size_t k = 0; k < n; ++k) dl[k] = gl[k] - dl[k] * gs;
    });
}

}  // namespace tapegrad::kernels
