// Shape ops: they move or copy elements and never change them, so each backward
// rule moves the gradient back the same way.
#pragma once

#include <vector>

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

// Reverses the axes (a 2-D transpose), or permutes them: y.shape[i] = a.shape[perm[i]].
Tensor transpose(const Tensor& a);
Tensor transpose(const Tensor& a, const std::vector<std::size_t>& perm);
// Swaps two axes (negative axes count from the end), as PyTorch's transpose(dim0, dim1).
Tensor transpose(const Tensor& a, int axis0, int axis1);
// New shape with the same number of elements; one axis may be `infer` (PyTorch's
// -1): its length is what the others leave, reshape(x, {infer, 784}).
Tensor reshape(const Tensor& a, const Shape& shape);
// Repeats a along broadcast axes (numpy rules) to `shape`, as PyTorch's expand; an
// axis given as `infer` keeps a's length (aligned from the right):
// broadcast_to(x [B, 1, H], {infer, T, infer}) -> [B, T, H].
Tensor broadcast_to(const Tensor& a, const Shape& shape);
// Drops an axis of length 1 / inserts one at `axis`.
Tensor squeeze(const Tensor& a, int axis);
Tensor unsqueeze(const Tensor& a, int axis);
// Joins tensors along an existing axis (their other axes must agree).
Tensor concat(const std::vector<Tensor>& parts, int axis);
// Joins equal-shaped tensors along a new axis.
Tensor stack(const std::vector<Tensor>& parts, int axis);
// The inverse of stack: one tensor per index along `axis`, that axis removed.
std::vector<Tensor> unstack(const Tensor& a, int axis);
// Elements [start, end) along `axis` (negative indices count from the end).
Tensor slice(const Tensor& a, int axis, long start, long end);
// The element `index` along `axis`, that axis removed ([B, T, H] at t -> [B, H]).
Tensor select(const Tensor& a, int axis, long index);

}  // namespace tapegrad::autograd
