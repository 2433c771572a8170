// Helpers shared by the op implementations (not part of the public API).
#pragma once

#include "autograd/tape.hpp"

namespace tapegrad::autograd::detail {

// Maps a possibly negative axis into [0, ndim); throws naming the op otherwise.
std::size_t normalize_axis(int axis, std::size_t ndim, const char* op);

// numpy broadcasting of two shapes; throws naming the op and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// The shape with `axes` set to 1 (a reduction with keepdims).
Shape keepdims_shape(const Shape& shape, const std::vector<std::size_t>& axes);

// Sorted, unique, normalised axes; empty input means every axis.
std::vector<std::size_t> normalize_axes(const std::vector<int>& axes, std::size_t ndim, const char* op);

// A contiguous array seen as [outer, n, inner] around one axis: the loop shape of
// every reduction and softmax here.
struct AxisSplit {
    std::size_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at(const Shape& shape, std::size_t axis);

// Sums over `axes` keeping them as length 1. Our own loops: xtensor 0.24's immediate
// reducer crashes when given a std::vector of axes, and its lazy one is 5-7x slower.
Array sum_axes(const Array& x, const std::vector<std::size_t>& axes);

// A constant 0-d tensor (how `x * 2.0f` reaches `mul`).
Tensor scalar(float v);

}  // namespace tapegrad::autograd::detail
