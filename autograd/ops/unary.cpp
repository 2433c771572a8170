// exp log sqrt abs tanh sigmoid relu softplus log_sigmoid clamp erf gelu.
// Rules reuse the output where the derivative is a function of it (exp, tanh, sigmoid),
// and each record() says which of the two values its rule reads (tape.hpp, Reads).
#include "autograd/kernels/activation.hpp"
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

// y = erf(a)        da = g * 2 / sqrt(pi) * e^(-a^2)
Tensor erf(const Tensor& a) {
    return record("erf", xt::erf(a.value()), {a}, reads_inputs, [](Step& s) -> Grads {
        const Array& x = s.input(0);
        return {s.grad * (1.12837916709551257f * xt::exp(-x * x))};
    });
}

// y = x Phi(x)       da = g (Phi(x) + x Phi'(x)), Phi in the form asked for: a
// dedicated op (one entry instead of six), its loops kernels/activation.hpp, its
// composition reference::gelu.
Tensor gelu(const Tensor& a, Gelu form) {
    const kernels::GeluForm f = form == Gelu::exact ? kernels::GeluForm::exact : kernels::GeluForm::tanh;
    Array y = Array::from_shape(a.shape());
    kernels::gelu(a.value().data(), a.size(), f, y.data());
    return record(form == Gelu::exact ? "gelu" : "gelu_tanh", std::move(y), {a}, reads_inputs, [f](Step& s) -> Grads {
        Array dx = Array::from_shape(s.grad.shape());
        kernels::gelu_backward(s.input(0).data(), s.grad.data(), dx.size(), f, dx.data());
        return {std::move(dx)};
    });
}

}  // namespace tapegrad::autograd
