#include "autograd/ops/detail.hpp"

#include <algorithm>

#include "autograd/kernels.hpp"

namespace tapegrad::autograd::detail {

std::size_t normalize_axis(int axis, std::size_t ndim, const char* op) {
    const int n = static_cast<int>(ndim);
    const int a = axis < 0 ? axis + n : axis;
    if (a < 0 || a >= n)
        throw Error(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for a " +
                    std::to_string(ndim) + "-d tensor");
    return static_cast<std::size_t>(a);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1)
            throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                        " cannot be broadcast together (axis " + std::to_string(i) + ": " +
                        std::to_string(da) + " vs " + std::to_string(db) + ")");
        out[i] = std::max(da, db);
    }
    return out;
}

Shape keepdims_shape(const Shape& shape, const std::vector<std::size_t>& axes) {
    Shape out = shape;
    for (auto a : axes) out[a] = 1;
    return out;
}

std::vector<std::size_t> normalize_axes(const std::vector<int>& axes, std::size_t ndim, const char* op) {
    std::vector<std::size_t> out;
    if (axes.empty()) {
        for (std::size_t i = 0; i < ndim; ++i) out.push_back(i);
        return out;
    }
    for (int a : axes) out.push_back(normalize_axis(a, ndim, op));
    std::sort(out.begin(), out.end());
    if (std::adjacent_find(out.begin(), out.end()) != out.end())
        throw Error(std::string(op) + ": an axis is repeated");
    return out;
}

AxisSplit split_at(const Shape& shape, std::size_t axis) {
    AxisSplit s;
    for (std::size_t i = 0; i < axis; ++i) s.outer *= shape[i];
    s.n = shape[axis];
    for (std::size_t i = axis + 1; i < shape.size(); ++i) s.inner *= shape[i];
    return s;
}

namespace {
Array sum_axis(const Array& x, std::size_t axis) {
    const Shape in = shape_of(x);
    const AxisSplit sp = split_at(in, axis);
    Array y = zeros(keepdims_shape(in, {axis}));
    for (std::size_t o = 0; o < sp.outer; ++o) {
        const float* xo = x.data() + o * sp.n * sp.inner;
        float* yo = y.data() + o * sp.inner;
        if (sp.inner == 1)
            yo[0] = kernels::sum(xo, sp.n);
        else
            for (std::size_t k = 0; k < sp.n; ++k) kernels::axpy(1.0f, xo + k * sp.inner, yo, sp.inner);
    }
    return y;
}
}  // namespace

Array sum_axes(const Array& x, const std::vector<std::size_t>& axes) {
    if (axes.empty()) return x;
    Array y = sum_axis(x, axes.back());
    for (auto it = axes.rbegin() + 1; it != axes.rend(); ++it) y = sum_axis(y, *it);
    return y;
}

Tensor scalar(float v) { return Tensor(Array(v)); }

}  // namespace tapegrad::autograd::detail
