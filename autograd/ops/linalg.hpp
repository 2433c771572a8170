// Matrix products, computed by cblas_sgemm straight on the tensors' row-major
// buffers (no copies, transposes passed as BLAS flags).
#pragma once

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

// [M, K] x [K, N] -> [M, N];  batched: [B, M, K] x [K, N] -> [B, M, N].
Tensor matmul(const Tensor& a, const Tensor& b);

// y = x W^T + b, as PyTorch's F.linear: x [..., in], weight [out, in] (PyTorch's
// layout, so checkpoints map one to one onto a state_dict), bias [out] or undefined.
// -> [..., out]. One GEMM writes onto the broadcast bias (beta = 1).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// Column sums of a row-major [rows, cols] buffer added into out[cols] (bias gradients).
void add_column_sums(const float* g, std::size_t rows, std::size_t cols, float* out);

}  // namespace tapegrad::autograd
