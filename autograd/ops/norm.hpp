// Normalisation layers' op.
#pragma once

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

// Layer normalisation over the last axis (Ba et al. 2016, PyTorch's F.layer_norm
// over the last dimension): y = (x - mean) / sqrt(var + eps) * weight + bias, the
// mean and the biased variance taken over x's last axis. weight and bias are
// [D] for x [..., D], or undefined (1 and 0).
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);

}  // namespace tapegrad::autograd
