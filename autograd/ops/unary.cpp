// exp log sqrt abs tanh sigmoid relu softplus log_sigmoid clamp gelu.
// Rules reuse the output where the derivative is a function of it (exp, tanh, sigmoid),
// and each record() says which of the two values its rule reads (tape.hpp, Reads).
#include "autograd/ops/elementwise.hpp"
#include "autograd/tape.hpp"

namespace tapegrad::autograd {

// y = e^a            da = g * y
Tensor exp(const Tensor& a) {
    return record("exp", xt::exp(a.value()), {a}, reads_output,
                  [](Step& s) -> Grads { return {s.grad * s.output()}; });
}

// y = ln a           da = g / a
Tensor log(const Tensor& a) {
    return record("log", xt::log(a.value()), {a}, reads_inputs,
                  [](Step& s) -> Grads { return {s.grad / s.input(0)}; });
}

// y = sqrt(a)        da = g / (2 y)
Tensor sqrt(const Tensor& a) {
    return record("sqrt", xt::sqrt(a.value()), {a}, reads_output,
                  [](Step& s) -> Grads { return {s.grad / (2.0f * s.output())}; });
}

// y = |a|            da = g * sign(a)   (0 at a = 0, as PyTorch)
Tensor abs(const Tensor& a) {
    return record("abs", xt::abs(a.value()), {a}, reads_inputs,
                  [](Step& s) -> Grads { return {s.grad * xt::sign(s.input(0))}; });
}

// y = tanh a         da = g * (1 - y^2)
Tensor tanh(const Tensor& a) {
    return record("tanh", xt::tanh(a.value()), {a}, reads_output, [](Step& s) -> Grads {
        return {s.grad * (1.0f - s.output() * s.output())};
    });
}

// y = 1 / (1 + e^-a) da = g * y * (1 - y)
// (e^-a overflows to inf for very negative a, and 1/inf = 0: no NaN.)
Tensor sigmoid(const Tensor& a) {
    return record("sigmoid", 1.0f / (1.0f + xt::exp(-a.value())), {a}, reads_output, [](Step& s) -> Grads {
        return {s.grad * s.output() * (1.0f - s.output())};
    });
}

// y = max(a, 0)      da = g * [a > 0]
Tensor relu(const Tensor& a) {
    return record("relu", xt::maximum(a.value(), 0.0f), {a}, reads_inputs, [](Step& s) -> Grads {
        return {xt::where(s.input(0) > 0.0f, s.grad, 0.0f)};
    });
}

// y = log(1 + e^a) = max(a, 0) + log1p(e^-|a|)      da = g * sigmoid(a)
Tensor softplus(const Tensor& a) {
    const Array& x = a.value();
    return record("softplus", xt::maximum(x, 0.0f) + xt::log1p(xt::exp(-xt::abs(x))), {a}, reads_inputs,
                  [](Step& s) -> Grads { return {s.grad / (1.0f + xt::exp(-s.input(0)))}; });
}

// log sigmoid(a) = -softplus(-a): composed, so it needs no rule of its own.
Tensor log_sigmoid(const Tensor& a) { return neg(softplus(neg(a))); }

// y = min(max(a, lo), hi)      da = g * [lo <= a <= hi]
Tensor clamp(const Tensor& a, float lo, float hi) {
    if (lo > hi)
        throw Error("clamp: lo (" + std::to_string(lo) + ") is greater than hi (" + std::to_string(hi) + ")");
    return record("clamp", xt::clip(a.value(), lo, hi), {a}, reads_inputs, [lo, hi](Step& s) -> Grads {
        const Array& x = s.input(0);
        return {xt::where(x >= lo && x <= hi, s.grad, 0.0f)};
    });
}

// exact:  y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2      da = g (Phi(x) + x phi(x)),  phi(x) = e^(-x^2/2) / sqrt(2 pi)
// tanh:   y = x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3)
//         da = g ((1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2)
namespace {
constexpr float inv_sqrt2 = 0.70710678118654752f, inv_sqrt_2pi = 0.39894228040143268f;
constexpr float c = 0.79788456080286536f, k = 0.044715f;  // c = sqrt(2 / pi)
}  // namespace

Tensor gelu(const Tensor& a, Gelu form) {
    const Array& x = a.value();
    if (form == Gelu::exact)
        return record("gelu", 0.5f * x * (1.0f + xt::erf(x * inv_sqrt2)), {a}, reads_inputs, [](Step& s) -> Grads {
            const Array& x = s.input(0);
            return {s.grad * (0.5f * (1.0f + xt::erf(x * inv_sqrt2)) + x * inv_sqrt_2pi * xt::exp(-0.5f * x * x))};
        });
    return record("gelu_tanh", 0.5f * x * (1.0f + xt::tanh(c * (x + k * x * x * x))), {a}, reads_inputs, [](Step& s) -> Grads {
        const Array& x = s.input(0);
        const Array t = xt::tanh(c * (x + k * x * x * x));
        return {s.grad * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * c * (1.0f + 3.0f * k * x * x))};
    });
}

}  // namespace tapegrad::autograd
