// add sub mul div neg pow and the operators. Each rule returns gradients in the
// output's shape; the sweep sums them back over broadcast axes (sum_to).
#include "autograd/ops/detail.hpp"
#include "autograd/ops/elementwise.hpp"

namespace tapegrad::autograd {

using detail::arith;
using kernels::Arith;

namespace {
void check_broadcast(const char* op, const Tensor& a, const Tensor& b) {
    if (a.value().shape() != b.value().shape()) detail::broadcast_shapes(a.shape(), b.shape(), op);
}
}  // namespace

// y = a + b          da = g          db = g
Tensor add(const Tensor& a, const Tensor& b) {
    check_broadcast("add", a, b);
    return record("add", arith(Arith::add, a.value(), b.value()), {a, b}, reads_nothing, [](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) g[0] = s.grad;            // a copy for a ...
        if (s.needs_grad(1)) g[1] = s.take_grad();     // ... and the adjoint itself for b
        return g;
    });
}

// y = a - b          da = g          db = -g
Tensor sub(const Tensor& a, const Tensor& b) {
    check_broadcast("sub", a, b);
    return record("sub", arith(Arith::sub, a.value(), b.value()), {a, b}, reads_nothing, [](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) g[0] = s.grad;
        if (s.needs_grad(1)) g[1] = -s.grad;
        return g;
    });
}

// y = a * b          da = g * b      db = g * a
Tensor mul(const Tensor& a, const Tensor& b) {
    check_broadcast("mul", a, b);
    return record("mul", arith(Arith::mul, a.value(), b.value()), {a, b}, reads_for_product(a, b), [](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) g[0] = arith(Arith::mul, s.grad, s.input(1));
        if (s.needs_grad(1)) g[1] = arith(Arith::mul, s.grad, s.input(0));
        return g;
    });
}

// y = a / b          da = g / b      db = -g * a / b^2 = -g * y / b
Tensor div(const Tensor& a, const Tensor& b) {
    check_broadcast("div", a, b);
    return record("div", arith(Arith::div, a.value(), b.value()), {a, b}, Reads{true, 0b10}, [](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) g[0] = arith(Arith::div, s.grad, s.input(1));
        if (s.needs_grad(1)) g[1] = arith(Arith::div, Array(-s.grad * s.output()), s.input(1));
        return g;
    });
}

// y = -a             da = -g
Tensor neg(const Tensor& a) {
    return record("neg", -a.value(), {a}, reads_nothing, [](Step& s) -> Grads { return {-s.grad}; });
}

// y = a^p            da = g * p * a^(p-1)
Tensor pow(const Tensor& a, float p) {
    return record("pow", xt::pow(a.value(), p), {a}, reads_inputs, [p](Step& s) -> Grads {
        return {s.grad * p * xt::pow(s.input(0), p - 1.0f)};
    });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, float b) { return add(a, detail::scalar(b)); }
Tensor operator+(float a, const Tensor& b) { return add(detail::scalar(a), b); }
Tensor operator-(const Tensor& a, float b) { return sub(a, detail::scalar(b)); }
Tensor operator-(float a, const Tensor& b) { return sub(detail::scalar(a), b); }
Tensor operator*(const Tensor& a, float b) { return mul(a, detail::scalar(b)); }
Tensor operator*(float a, const Tensor& b) { return mul(detail::scalar(a), b); }
Tensor operator/(const Tensor& a, float b) { return div(a, detail::scalar(b)); }
Tensor operator/(float a, const Tensor& b) { return div(detail::scalar(a), b); }

}  // namespace tapegrad::autograd
