// Element-wise ops. Binary ops broadcast as numpy does; a float on either side of
// an operator (`x * 2.0f`, `1.0f - x`) becomes a constant, so there are no scalar twins.
// Shapes: binary ops return the broadcast shape of their inputs; unary ops keep the shape.
#pragma once

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& a);
Tensor pow(const Tensor& a, float exponent);

Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor softplus(const Tensor& a);     // log(1 + e^a), computed without overflow
Tensor log_sigmoid(const Tensor& a);  // log(sigmoid(a)) = -softplus(-a)
Tensor clamp(const Tensor& a, float lo, float hi);
Tensor erf(const Tensor& a);  // the error function, 2/sqrt(pi) times the integral of e^(-t^2) from 0 to a
// GELU (Hendrycks & Gimpel 2016), x Phi(x) with Phi the standard normal CDF: exact
// (erf), or PyTorch's approximate="tanh" form.
enum class Gelu { exact, tanh };
Tensor gelu(const Tensor& a, Gelu form = Gelu::exact);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(const Tensor& a, float b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(const Tensor& a, float b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(const Tensor& a, float b);
Tensor operator/(float a, const Tensor& b);

}  // namespace tapegrad::autograd
