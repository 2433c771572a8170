// Reductions and the softmax family along an axis. Their loops along an axis are
// kernels/reduce.hpp.
#include "autograd/ops/reduce.hpp"

#include <algorithm>
#include <vector>

#include "autograd/ops/detail.hpp"

namespace tapegrad::autograd {

namespace {

Shape without_axes(const Shape& s, const std::vector<std::size_t>& axes) {
    Shape out;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (std::find(axes.begin(), axes.end(), i) == axes.end()) out.push_back(s[i]);
    return out;
}

// y = factor * (sum over axes)     da = factor * g, broadcast back over the axes
Tensor reduce_sum(const char* op, const Tensor& a, std::vector<std::size_t> axes, bool keepdims, float factor) {
    const Shape in = a.shape();
    const Shape kept = detail::keepdims_shape(in, axes);
    Array y = sum_axes(a.value(), axes);
    if (factor != 1.0f) y *= factor;
    if (!keepdims) y.reshape(without_axes(in, axes));
    return record(op, std::move(y), {a}, reads_nothing, [in, kept, factor](Step& s) -> Grads {
        Array gk = s.grad;
        gk.reshape(kept);
        Array g = xt::broadcast(gk, in);
        if (factor != 1.0f) g *= factor;
        return {std::move(g)};
    });
}

float count(const Shape& shape, const std::vector<std::size_t>& axes) {
    std::size_t n = 1;
    for (auto ax : axes) n *= shape[ax];
    return static_cast<float>(n);
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
    if (n == 0) throw Error("mean: reducing over zero elements (shape " + shape_str(a.shape()) + ")");
    return reduce_sum("mean", a, std::move(ax), keepdims, 1.0f / n);
}

// y = max_i a_i                da_i = g at the first argmax, 0 elsewhere
Tensor max(const Tensor& a) {
    if (a.size() == 0) throw Error("max: empty tensor");
    const Shape in = a.shape();
    const kernels::AxisSplit all{1, a.size(), 1};  // every element as one lane
    Array y(0.0f);  // 0-d
    std::uint32_t arg = 0;
    kernels::max_axis(a.value().data(), all, y.data(), &arg);
    return record("max", std::move(y), {a}, reads_nothing, [arg, in, all](Step& s) -> Grads {
        Array d = Array::from_shape(in);
        kernels::max_axis_backward(s.grad.data(), &arg, all, d.data());
        return {std::move(d)};
    });
}

Tensor max(const Tensor& a, int axis, bool keepdims) {
    const Shape in = a.shape();
    const std::size_t ax = detail::normalize_axis(axis, in.size(), "max");
    const kernels::AxisSplit sp = split_at(in, ax);
    if (sp.n == 0) throw Error("max: reducing over an empty axis (shape " + shape_str(in) + ")");
    Array y = Array::from_shape(detail::keepdims_shape(in, {ax}));
    std::vector<std::uint32_t> arg(sp.outer * sp.inner);
    kernels::max_axis(a.value().data(), sp, y.data(), arg.data());
    if (!keepdims) y.reshape(without_axes(in, {ax}));
    return record("max", std::move(y), {a}, reads_nothing, [arg = std::move(arg), in, sp](Step& s) -> Grads {
        Array d = Array::from_shape(in);
        kernels::max_axis_backward(s.grad.data(), arg.data(), sp, d.data());
        return {std::move(d)};
    });
}

// y = m + log sum_i exp(a_i - m), m = max_i a_i          da_i = g * exp(a_i - y)
Tensor logsumexp(const Tensor& a, int axis, bool keepdims) {
    const Shape in = a.shape();
    const std::size_t ax = detail::normalize_axis(axis, in.size(), "logsumexp");
    const Shape kept = detail::keepdims_shape(in, {ax});
    Array y = Array::from_shape(kept);
    kernels::logsumexp_axis(a.value().data(), split_at(in, ax), y.data());
    if (!keepdims) y.reshape(without_axes(in, {ax}));
    return record("logsumexp", std::move(y), {a}, [kept](Step& s) -> Grads {
        Array yk = s.output();
        yk.reshape(kept);
        Array gk = s.grad;
        gk.reshape(kept);
        return {gk * xt::exp(s.input(0) - yk)};
    });
}

// y_i = exp(a_i) / sum_j exp(a_j)          da_i = y_i * (g_i - sum_j g_j y_j)
Tensor softmax(const Tensor& a, int axis) {
    const Shape in = a.shape();
    const kernels::AxisSplit sp = split_at(in, detail::normalize_axis(axis, in.size(), "softmax"));
    Array y = Array::from_shape(in);
    kernels::softmax_axis(a.value().data(), sp, y.data());
    return record("softmax", std::move(y), {a}, reads_output, [in, sp](Step& s) -> Grads {
        Array d = Array::from_shape(in);
        kernels::softmax_axis_backward(s.grad.data(), s.output().data(), sp, d.data());
        return {std::move(d)};
    });
}

// y = softmax(a + m)        da = y (g - sum(g y)),  dm = da (summed back to m's shape)
Tensor softmax(const Tensor& a, int axis, const Tensor& mask) {
    detail::broadcast_shapes(mask.shape(), a.shape(), "softmax (mask)");
    const Shape in = a.shape();
    const kernels::AxisSplit sp = split_at(in, detail::normalize_axis(axis, in.size(), "softmax"));
    Array y = detail::arith(kernels::Arith::add, a.value(), mask.value());
    if (shape_of(y) != in)
        throw Error("softmax: mask " + shape_str(mask.shape()) + " must broadcast to the input's shape " + shape_str(in));
    kernels::softmax_axis(y.data(), sp, y.data());
    return record("softmax", std::move(y), {a, mask}, reads_output, [in, sp](Step& s) -> Grads {
        Array d = Array::from_shape(in);
        kernels::softmax_axis_backward(s.grad.data(), s.output().data(), sp, d.data());
        Grads g(s);
        if (s.needs_grad(1)) g[1] = d;
        if (s.needs_grad(0)) g[0] = std::move(d);
        return g;
    });
}

// y = log_softmax(a + m)    da = g - exp(y) sum(g),  dm = da (summed back to m's shape)
Tensor log_softmax(const Tensor& a, int axis, const Tensor& mask) {
    detail::broadcast_shapes(mask.shape(), a.shape(), "log_softmax (mask)");
    const Shape in = a.shape();
    const kernels::AxisSplit sp = split_at(in, detail::normalize_axis(axis, in.size(), "log_softmax"));
    Array y = detail::arith(kernels::Arith::add, a.value(), mask.value());
    if (shape_of(y) != in)
        throw Error("log_softmax: mask " + shape_str(mask.shape()) + " must broadcast to the input's shape " + shape_str(in));
    kernels::log_softmax_axis(y.data(), sp, y.data());
    return record("log_softmax", std::move(y), {a, mask}, reads_output, [in, sp](Step& s) -> Grads {
        Array d = Array::from_shape(in);
        kernels::log_softmax_axis_backward(s.grad.data(), s.output().data(), sp, d.data());
        Grads g(s);
        if (s.needs_grad(1)) g[1] = d;
        if (s.needs_grad(0)) g[0] = std::move(d);
        return g;
    });
}

// y_i = a_i - logsumexp(a)                 da_i = g_i - exp(y_i) * sum_j g_j
Tensor log_softmax(const Tensor& a, int axis) {
    const Shape in = a.shape();
    const kernels::AxisSplit sp = split_at(in, detail::normalize_axis(axis, in.size(), "log_softmax"));
    Array y = Array::from_shape(in);
    kernels::log_softmax_axis(a.value().data(), sp, y.data());
    return record("log_softmax", std::move(y), {a}, reads_output, [in, sp](Step& s) -> Grads {
        Array d = Array::from_shape(in);
        kernels::log_softmax_axis_backward(s.grad.data(), s.output().data(), sp, d.data());
        return {std::move(d)};
    });
}

}  // namespace tapegrad::autograd
