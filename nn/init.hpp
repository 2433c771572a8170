// Initialisers, filling a parameter in place from the seeded engine
// (autograd::manual_seed). Names and formulas follow torch.nn.init; each layer's
// default initialisation matches PyTorch's, so training curves are comparable.
#pragma once

#include <utility>

#include "autograd/tensor.hpp"

namespace tapegrad::nn::init {

using autograd::Tensor;

// (fan_in, fan_out) as PyTorch computes them: a weight [out, in, k...] has
// fan_in = in * prod(k), fan_out = out * prod(k).
std::pair<float, float> fans(const Shape& shape);

void uniform(Tensor t, float lo, float hi);
void normal(Tensor t, float mean = 0.0f, float std = 1.0f);
void constant(Tensor t, float value);
void zeros(Tensor t);

// Glorot & Bengio 2010: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)); normal: std = gain * sqrt(2 / (fan_in + fan_out)).
void xavier_uniform(Tensor t, float gain = 1.0f);
void xavier_normal(Tensor t, float gain = 1.0f);

// He et al. 2015 for leaky ReLU with negative slope a: gain = sqrt(2 / (1 + a^2)),
// U(-b, b), b = gain * sqrt(3 / fan); normal: std = gain / sqrt(fan). fan = fan_in by default.
enum class Fan { in, out };
void kaiming_uniform(Tensor t, float a = 0.0f, Fan mode = Fan::in);
void kaiming_normal(Tensor t, float a = 0.0f, Fan mode = Fan::in);

// Saxe et al. 2014: a (semi-)orthogonal matrix from the QR decomposition of a
// Gaussian matrix (LAPACK through xtensor-blas), scaled by gain. Axes after the
// first are flattened.
void orthogonal(Tensor t, float gain = 1.0f);

}  // namespace tapegrad::nn::init
