// Helpers shared by the ops: axes, broadcast shapes, broadcast arithmetic.
#include "autograd/ops/detail.hpp"

#include <algorithm>
#include <span>

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

namespace {
std::span<const std::size_t> dims(const Array& a) { return {a.shape().data(), a.shape().size()}; }

// The same operation with the operands' roles swapped (c op x for x op c).
kernels::Arith swapped(kernels::Arith op) {
    switch (op) {
        case kernels::Arith::sub: return kernels::Arith::sub_from;
        case kernels::Arith::sub_from: return kernels::Arith::sub;
        case kernels::Arith::div: return kernels::Arith::div_into;
        case kernels::Arith::div_into: return kernels::Arith::div;
        default: return op;  // add and mul commute
    }
}
}  // namespace

Array arith(kernels::Arith op, const Array& a, const Array& b) {
    if (const std::size_t run = kernels::run_length(dims(b), dims(a))) {  // b constant over runs of a
        Array out = Array::from_shape(a.shape());
        kernels::along_runs(op, a.data(), b.data(), b.size(), run, out.data());
        return out;
    }
    if (const std::size_t run = kernels::run_length(dims(a), dims(b))) {  // a constant over runs of b
        Array out = Array::from_shape(b.shape());
        kernels::along_runs(swapped(op), b.data(), a.data(), a.size(), run, out.data());
        return out;
    }
    switch (op) {
        case kernels::Arith::add: return a + b;
        case kernels::Arith::sub: return a - b;
        case kernels::Arith::sub_from: return b - a;
        case kernels::Arith::mul: return a * b;
        case kernels::Arith::div: return a / b;
        case kernels::Arith::div_into: return b / a;
    }
    return a;
}

void check_ids(const char* op, const char* what, const Indices& ids, std::size_t limit, const std::string& of) {
    for (std::size_t k = 0; k < ids.size(); ++k) {
        const std::int64_t id = ids.data()[k];
        if (id < 0 || static_cast<std::size_t>(id) >= limit)
            throw Error(std::string(op) + ": " + what + " " + std::to_string(id) + " at position " + std::to_string(k) +
                        " is out of range for " + of);
    }
}

Tensor scalar(float v) { return Tensor(Array(v)); }

}  // namespace tapegrad::autograd::detail
