// Matrix products, computed straight on the tensors' row-major buffers (no
// copies; a transposed operand is read as such, kernels/blas.hpp).
#pragma once

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

// [..., M, K] x [..., K, N] -> [..., M, N], as numpy's matmul: the axes before the
// last two are batches and broadcast ([2, 1, M, K] x [3, K, N] -> [2, 3, M, N]);
// a [K, N] b is one product on all of a's rows.
Tensor matmul(const Tensor& a, const Tensor& b);

// a b^T over the last two axes: [..., M, K] x [..., N, K] -> [..., M, N] (attention's
// scores q k^T), batches broadcast as in matmul. The same as
// matmul(a, transpose(b, -2, -1)) without the copy of b's transpose.
Tensor matmul_transposed(const Tensor& a, const Tensor& b);

// y = x W^T + b, as PyTorch's F.linear: x [..., in], weight [out, in] (PyTorch's
// layout, so checkpoints map one to one onto a state_dict), bias [out] or undefined.
// -> [..., out]. One GEMM writes onto the broadcast bias (beta = 1).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace tapegrad::autograd
