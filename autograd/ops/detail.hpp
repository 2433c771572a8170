// Helpers shared by the op implementations (not part of the public API).
#pragma once

#include "autograd/kernels/broadcast.hpp"
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

// a (op) b with numpy broadcasting: a vectorised loop over runs when one operand
// is constant over runs of the other (kernels/broadcast.hpp), else xtensor's
// broadcasting assignment.
Array arith(kernels::Arith op, const Array& a, const Array& b);

// Throws naming the op unless every id lies in [0, limit): "<op>: <what> 7 at
// position 3 is out of range for <of>".
void check_ids(const char* op, const char* what, const Indices& ids, std::size_t limit, const std::string& of);

// A constant 0-d tensor (how `x * 2.0f` reaches `mul`).
Tensor scalar(float v);

}  // namespace tapegrad::autograd::detail
