// Reductions and softmax. The softmax family works lane by lane (a lane: the
// elements along the axis) with the vectorised kernels; lanes along an inner axis
// are copied into a contiguous buffer first.
#include "autograd/ops/reduce.hpp"

#include <algorithm>
#include <limits>

#include "autograd/kernels.hpp"
#include "autograd/ops/detail.hpp"

namespace tapegrad::autograd {

namespace {

using detail::AxisSplit;

Array broadcast_back(const Array& g, const Shape& kept, const Shape& full) {
    Array gk = g;
    gk.reshape(kept);
    return Array(xt::broadcast(gk, full));
}

Tensor reduce_sum(const char* op, const Tensor& a, std::vector<std::size_t> axes, bool keepdims,
                  float factor) {
    const Shape in = a.shape();
    const Shape kept = detail::keepdims_shape(in, axes);
    Array y = detail::sum_axes(a.value(), axes);
    if (factor != 1.0f) y *= factor;
    if (!keepdims) {
        Shape out;
        for (std::size_t i = 0; i < in.size(); ++i)
            if (std::find(axes.begin(), axes.end(), i) == axes.end()) out.push_back(in[i]);
        y.reshape(out);
    }
    return record(op, std::move(y), {a}, [in, kept, factor](Step& s) -> Grads {
        Array g = broadcast_back(s.grad, kept, in);
        if (factor != 1.0f) g *= factor;
        return {std::move(g)};
    });
}

float count(const Shape& shape, const std::vector<std::size_t>& axes) {
    std::size_t n = 1;
    for (auto ax : axes) n *= shape[ax];
    return static_cast<float>(n);
}

// Runs f(lane_in, lane_out, n) over every lane of `axis`; lanes are contiguous
// pointers (copied through buffers when the axis is not the last one).
template <class F>
void for_lanes(const float* x, float* y, const Shape& shape, std::size_t axis, F&& f) {
    const AxisSplit sp = detail::split_at(shape, axis);
    if (sp.inner == 1) {
        for (std::size_t o = 0; o < sp.outer; ++o) f(x + o * sp.n, y + o * sp.n, sp.n);
        return;
    }
    std::vector<float> bx(sp.n), by(sp.n);
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t base = o * sp.n * sp.inner + i;
            for (std::size_t k = 0; k < sp.n; ++k) bx[k] = x[base + k * sp.inner];
            f(bx.data(), by.data(), sp.n);
            for (std::size_t k = 0; k < sp.n; ++k) y[base + k * sp.inner] = by[k];
        }
}

// As for_lanes with two inputs (a gradient and a saved value) and one output.
template <class F>
void for_lanes2(const float* g, const float* v, float* out, const Shape& shape, std::size_t axis, F&& f) {
    const AxisSplit sp = detail::split_at(shape, axis);
    if (sp.inner == 1) {
        for (std::size_t o = 0; o < sp.outer; ++o) f(g + o * sp.n, v + o * sp.n, out + o * sp.n, sp.n);
        return;
    }
    std::vector<float> bg(sp.n), bv(sp.n), bo(sp.n);
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t base = o * sp.n * sp.inner + i;
            for (std::size_t k = 0; k < sp.n; ++k) {
                bg[k] = g[base + k * sp.inner];
                bv[k] = v[base + k * sp.inner];
            }
            f(bg.data(), bv.data(), bo.data(), sp.n);
            for (std::size_t k = 0; k < sp.n; ++k) out[base + k * sp.inner] = bo[k];
        }
}

Shape without_axis(const Shape& s, std::size_t axis) {
    Shape out = s;
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
    return out;
}

}  // namespace

// y = sum_i a_i                da_i = g
Tensor sum(const Tensor& a) { return sum(a, std::vector<int>{}, false); }
Tensor sum(const Tensor& a, int axis, bool keepdims) { return sum(a, std::vector<int>{axis}, keepdims); }
Tensor sum(const Tensor& a, const std::vector<int>& axes, bool keepdims) {
    return reduce_sum("sum", a, detail::normalize_axes(axes, a.ndim(), "sum"), keepdims, 1.0f);
}

// y = sum_i a_i / n            da_i = g / n
Tensor mean(const Tensor& a) { return mean(a, std::vector<int>{}, false); }
Tensor mean(const Tensor& a, int axis, bool keepdims) { return mean(a, std::vector<int>{axis}, keepdims); }
Tensor mean(const Tensor& a, const std::vector<int>& axes, bool keepdims) {
    auto ax = detail::normalize_axes(axes, a.ndim(), "mean");
    const float n = count(a.shape(), ax);
    if (n == 0) throw Error("mean: reducing over zero elements (shape " + shape_str(a.value().shape()) + ")");
    return reduce_sum("mean", a, std::move(ax), keepdims, 1.0f / n);
}

// y = max_i a_i                da_i = g at the first argmax, 0 elsewhere
Tensor max(const Tensor& a) {
    const Array& x = a.value();
    if (x.size() == 0) throw Error("max: empty tensor");
    const std::size_t at = static_cast<std::size_t>(std::max_element(x.begin(), x.end()) - x.begin());
    const Shape in = a.shape();
    return record("max", Array(x.data()[at]), {a}, [at, in](Step& s) -> Grads {
        Array g = zeros(in);
        g.data()[at] = s.grad.data()[0];
        return {std::move(g)};
    });
}

Tensor max(const Tensor& a, int axis, bool keepdims) {
    const Array& x = a.value();
    const std::size_t ax = detail::normalize_axis(axis, x.dimension(), "max");
    const Shape in = a.shape();
    const AxisSplit sp = detail::split_at(in, ax);
    if (sp.n == 0) throw Error("max: reducing over an empty axis (shape " + shape_str(in) + ")");
    Array y = Array::from_shape(detail::keepdims_shape(in, {ax}));
    std::vector<std::uint32_t> arg(sp.outer * sp.inner);
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i) {
            const float* lane = x.data() + o * sp.n * sp.inner + i;
            std::size_t best = 0;
            for (std::size_t k = 1; k < sp.n; ++k)
                if (lane[k * sp.inner] > lane[best * sp.inner]) best = k;
            arg[o * sp.inner + i] = static_cast<std::uint32_t>(best);
            y.data()[o * sp.inner + i] = lane[best * sp.inner];
        }
    if (!keepdims) y.reshape(without_axis(in, ax));
    return record("max", std::move(y), {a}, [arg = std::move(arg), in, sp](Step& s) -> Grads {
        Array g = zeros(in);
        for (std::size_t o = 0; o < sp.outer; ++o)
            for (std::size_t i = 0; i < sp.inner; ++i) {
                const std::size_t j = o * sp.inner + i;
                g.data()[o * sp.n * sp.inner + arg[j] * sp.inner + i] = s.grad.data()[j];
            }
        return {std::move(g)};
    });
}

// y = m + log sum_i exp(a_i - m), m = max_i a_i          da_i = g * exp(a_i - y)
Tensor logsumexp(const Tensor& a, int axis, bool keepdims) {
    const Array& x = a.value();
    const std::size_t ax = detail::normalize_axis(axis, x.dimension(), "logsumexp");
    const Shape in = a.shape();
    const AxisSplit sp = detail::split_at(in, ax);
    // Each lane's result is written to the lane's first slot of a full-size buffer,
    // then picked out: keeps one lane loop for every axis.
    Array full = Array::from_shape(in);
    for_lanes(x.data(), full.data(), in, ax, [](const float* l, float* o, std::size_t n) {
        o[0] = kernels::logsumexp(l, n);
    });
    Array y = Array::from_shape(detail::keepdims_shape(in, {ax}));
    for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t i = 0; i < sp.inner; ++i)
            y.data()[o * sp.inner + i] = full.data()[o * sp.n * sp.inner + i];
    const Shape kept = shape_of(y);
    if (!keepdims) y.reshape(without_axis(in, ax));
    return record("logsumexp", std::move(y), {a}, [in, kept](Step& s) -> Grads {
        Array yk = s.output();
        yk.reshape(kept);
        Array gk = s.grad;
        gk.reshape(kept);
        return {gk * xt::exp(s.input(0) - yk)};
    });
}

// y_i = exp(a_i) / sum_j exp(a_j)          da_i = y_i * (g_i - sum_j g_j y_j)
Tensor softmax(const Tensor& a, int axis) {
    const Array& x = a.value();
    const std::size_t ax = detail::normalize_axis(axis, x.dimension(), "softmax");
    const Shape in = a.shape();
    Array y = Array::from_shape(in);
    for_lanes(x.data(), y.data(), in, ax, [](const float* l, float* o, std::size_t n) {
        const float s = kernels::exp_shift(l, kernels::max(l, n), o, n);
        kernels::scale(1.0f / s, o, n);
    });
    return record("softmax", std::move(y), {a}, [in, ax](Step& s) -> Grads {
        Array da = Array::from_shape(in);
        for_lanes2(s.grad.data(), s.output().data(), da.data(), in, ax,
                   [](const float* g, const float* y, float* d, std::size_t n) {
                       float dot = 0.0f;
                       for (std::size_t k = 0; k < n; ++k) dot += g[k] * y[k];
                       for (std::size_t k = 0; k < n; ++k) d[k] = y[k] * (g[k] - dot);
                   });
        return {std::move(da)};
    });
}

// y_i = a_i - logsumexp(a)                 da_i = g_i - exp(y_i) * sum_j g_j
Tensor log_softmax(const Tensor& a, int axis) {
    const Array& x = a.value();
    const std::size_t ax = detail::normalize_axis(axis, x.dimension(), "log_softmax");
    const Shape in = a.shape();
    Array y = Array::from_shape(in);
    for_lanes(x.data(), y.data(), in, ax, [](const float* l, float* o, std::size_t n) {
        const float lse = kernels::logsumexp(l, n);
        for (std::size_t k = 0; k < n; ++k) o[k] = l[k] - lse;
    });
    return record("log_softmax", std::move(y), {a}, [in, ax](Step& s) -> Grads {
        Array da = Array::from_shape(in);
        for_lanes2(s.grad.data(), s.output().data(), da.data(), in, ax,
                   [](const float* g, const float* y, float* d, std::size_t n) {
                       const float gs = kernels::sum(g, n);
                       kernels::exp_shift(y, 0.0f, d, n);
                       for (std::size_t k = 0; k < n; ++k) d[k] = g[k] - d[k] * gs;
                   });
        return {std::move(da)};
    });
}

}  // namespace tapegrad::autograd
