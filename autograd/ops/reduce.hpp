// Reductions (sum mean max logsumexp) and the softmax family along an axis.
// Shapes: a reduction over `axes` removes them, or keeps them as 1 with keepdims;
// with no axes it reduces every element to a 0-d tensor. softmax and
// log_softmax keep the shape.
#pragma once

#include <vector>

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

Tensor sum(const Tensor& a);  // every element -> []
Tensor sum(const Tensor& a, int axis, bool keepdims = false);
Tensor sum(const Tensor& a, const std::vector<int>& axes, bool keepdims = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, int axis, bool keepdims = false);
Tensor mean(const Tensor& a, const std::vector<int>& axes, bool keepdims = false);
// The gradient goes to the first maximal element (as the index PyTorch's max(dim) returns).
Tensor max(const Tensor& a);
Tensor max(const Tensor& a, int axis, bool keepdims = false);

// log(sum(exp(a), axis)), shifted by the maximum so that it never overflows.
Tensor logsumexp(const Tensor& a, int axis, bool keepdims = false);
Tensor softmax(const Tensor& a, int axis = -1);
Tensor log_softmax(const Tensor& a, int axis = -1);
// softmax(a + mask) and log_softmax(a + mask) in one entry: `mask` is additive and
// broadcast to a's shape (0 keeps an entry, -inf removes it, other values shift
// it), as PyTorch's float attention masks. A lane whose every entry is -inf has
// softmax 0 (not NaN) and log_softmax -inf.
Tensor softmax(const Tensor& a, int axis, const Tensor& mask);
Tensor log_softmax(const Tensor& a, int axis, const Tensor& mask);

}  // namespace tapegrad::autograd
