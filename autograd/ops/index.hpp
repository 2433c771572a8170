// Indexing and masking: gather (rows by id: the embedding lookup), take_rows and
// put_rows, where, dropout.
#pragma once

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

// Rows of `table` [V, D...] picked by `ids` (any shape S) -> [S..., D...].
// The backward is a scatter-add into [V, D...]: a repeated id sums its gradients.
// Ids must lie in [0, V); the row `no_grad_id` (if >= 0) is read like any other but
// never receives a gradient (the padding row of an embedding, as in PyTorch).
Tensor gather(const Tensor& table, const Indices& ids, std::int64_t no_grad_id = -1);

// Rows of x seen as a matrix [prod(leading axes), last axis], picked by `rows`
// (1-D): x [B, T, H] with rows b*T + t -> [len(rows), H]. Same as
// gather(reshape(x, {infer, H}), rows) without copying x first. Backward: scatter-add.
Tensor take_rows(const Tensor& x, const Indices& rows);

// The adjoint of take_rows: [count, D] zeros, then row rows[k] += x[k] for each
// row k of x [N, D] (rows 1-D, N ids in [0, count)). With distinct ids it puts the
// rows back where take_rows took them: a packed batch of sequences back into its
// padded [B * L, D] layout, zeros at the pads. Backward: take_rows of the gradient.
Tensor put_rows(const Tensor& x, const Indices& rows, std::size_t count);
// The same into [lead..., D], the ids indexing the lead axes flattened: a packed
// batch straight into [B, L, D] (without a reshape, which would copy it).
Tensor put_rows(const Tensor& x, const Indices& rows, const Shape& lead);

// y = condition ? a : b, element-wise, where condition is any nonzero value (a
// constant 0/1 tensor, as PyTorch's bool tensors); all three broadcast together.
// The condition receives no gradient.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

// y = a * mask, where mask holds 0 (dropped) or 1/(1-p) (kept): inverted dropout.
Tensor dropout(const Tensor& a, const Array& mask);
// Draws the mask from the seeded engine: each element dropped with probability p.
Tensor dropout(const Tensor& a, float p);
// The mask `dropout(a, p)` would use for a tensor of this shape.
Array dropout_mask(const Shape& shape, float p);

}  // namespace tapegrad::autograd
