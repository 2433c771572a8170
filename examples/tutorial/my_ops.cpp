// docs/tutorial.md's exercises: the reader's own ops. The file ships with working
// answers so that the project's tests pass; to do an exercise, replace the body of
// a rule (between "rule:" and the end of its lambda) by `return {s.grad};` or by
// `Grads g(s); return g;`, watch `build/examples/tutorial_check <op>` say WRONG,
// then write the rule yourself until it says RIGHT.
#include "examples/tutorial/my_ops.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

namespace tutorial {

using namespace tapegrad;
using namespace tapegrad::autograd;

// ------------------------------------------------------------- exercise 1
// y = a^3            da = g * 3 a^2
Tensor my_cube(const Tensor& a) {
    Array y = a.value() * a.value() * a.value();
    return record("my_cube", std::move(y), {a}, [](Step& s) -> Grads {
        // rule:
        return {s.grad * 3.0f * s.input(0) * s.input(0)};
    });
}

// ------------------------------------------------------------- exercise 2
// y_n = m_n + log sum_j exp(a_nj - m_n),  m_n = max_j a_nj      da_nj = g_n exp(a_nj - y_n)
Tensor my_logsumexp(const Tensor& a) {
    if (a.ndim() != 2) throw Error("my_logsumexp: expected a [N, D] input, got " + shape_str(a.shape()));
    const std::size_t N = a.dim(0), D = a.dim(1);
    const float* x = a.value().data();
    Array y = Array::from_shape({N});
    for (std::size_t n = 0; n < N; ++n) {
        float m = x[n * D];
        for (std::size_t j = 1; j < D; ++j) m = std::max(m, x[n * D + j]);
        double sum = 0.0;
        for (std::size_t j = 0; j < D; ++j) sum += std::exp(x[n * D + j] - m);
        y(n) = m + static_cast<float>(std::log(sum));
    }
    return record("my_logsumexp", std::move(y), {a}, [N, D](Step& s) -> Grads {
        // rule:
        const float* x = s.input(0).data();
        const float* y = s.output().data();
        Array da = Array::from_shape({N, D});
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t j = 0; j < D; ++j) da(n, j) = s.grad(n) * std::exp(x[n * D + j] - y[n]);
        return {std::move(da)};
    });
}

// ------------------------------------------------------------- exercise 3
// xhat = (x - mu) r,  r = 1 / sqrt(var + eps),  y = xhat w + b
// dx = r (gh - mean(gh) - xhat mean(gh xhat)), gh = g w;   dw = sum_rows g xhat;   db = sum_rows g
namespace {
struct Normalised {
    Array xhat, r;  // what the rule needs: x normalised [N, D], 1/sqrt(var + eps) per row [N]
};

Normalised normalise(const Array& x, float eps) {
    const std::size_t N = x.shape()[0], D = x.shape()[1];
    Normalised out{Array::from_shape({N, D}), Array::from_shape({N})};
    for (std::size_t n = 0; n < N; ++n) {
        double mu = 0.0, var = 0.0;
        for (std::size_t j = 0; j < D; ++j) mu += x(n, j);
        mu /= static_cast<double>(D);
        for (std::size_t j = 0; j < D; ++j) var += (x(n, j) - mu) * (x(n, j) - mu);
        var /= static_cast<double>(D);
        out.r(n) = static_cast<float>(1.0 / std::sqrt(var + eps));
        for (std::size_t j = 0; j < D; ++j) out.xhat(n, j) = static_cast<float>((x(n, j) - mu) * out.r(n));
    }
    return out;
}

void check_layer_norm_shapes(const Tensor& x, const Tensor& w, const Tensor& b) {
    if (x.ndim() != 2 || w.shape() != Shape{x.dim(1)} || b.shape() != Shape{x.dim(1)})
        throw Error("my_layer_norm: expected x [N, D], w [D], b [D], got " + shape_str(x.shape()) + ", " +
                    shape_str(w.shape()) + ", " + shape_str(b.shape()));
}
}  // namespace

Tensor my_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps) {
    check_layer_norm_shapes(x, w, b);
    const std::size_t N = x.dim(0), D = x.dim(1);
    auto saved = std::make_shared<Normalised>(normalise(x.value(), eps));  // kept by the rule, freed with it
    Array y = Array::from_shape({N, D});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t j = 0; j < D; ++j) y(n, j) = saved->xhat(n, j) * w.value()(j) + b.value()(j);
    return record("my_layer_norm", std::move(y), {x, w, b}, [saved, N, D](Step& s) -> Grads {
        // rule:
        const Array& xhat = saved->xhat;
        Grads g(s);
        if (s.needs_grad(0)) {
            Array dx = Array::from_shape({N, D});
            for (std::size_t n = 0; n < N; ++n) {
                double mean_gh = 0.0, mean_gh_xhat = 0.0;
                for (std::size_t j = 0; j < D; ++j) {
                    const double gh = s.grad(n, j) * s.input(1)(j);
                    mean_gh += gh / D;
                    mean_gh_xhat += gh * xhat(n, j) / D;
                }
                for (std::size_t j = 0; j < D; ++j)
                    dx(n, j) = static_cast<float>(saved->r(n) * (s.grad(n, j) * s.input(1)(j) - mean_gh -
                                                                 xhat(n, j) * mean_gh_xhat));
            }
            g[0] = std::move(dx);
        }
        if (s.needs_grad(1)) g[1] = s.grad * xhat;  // [N, D]: the sweep sums it over the rows (sum_to)
        if (s.needs_grad(2)) g[2] = s.grad;         // [N, D]: likewise
        return g;
    });
}

// ------------------------------------------------------------- exercise 4: broken on purpose
// The same layer norm with a classic mistake in dx: the term - xhat mean(gh xhat),
// which comes from the variance's dependence on x, is missing.
Tensor broken_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps) {
    check_layer_norm_shapes(x, w, b);
    const std::size_t N = x.dim(0), D = x.dim(1);
    auto saved = std::make_shared<Normalised>(normalise(x.value(), eps));
    Array y = saved->xhat * w.value() + b.value();
    return record("broken_layer_norm", std::move(y), {x, w, b}, [saved, N, D](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) {
            Array dx = Array::from_shape({N, D});
            for (std::size_t n = 0; n < N; ++n) {
                double mean_gh = 0.0;
                for (std::size_t j = 0; j < D; ++j) mean_gh += s.grad(n, j) * s.input(1)(j) / D;
                for (std::size_t j = 0; j < D; ++j)
                    dx(n, j) = static_cast<float>(saved->r(n) * (s.grad(n, j) * s.input(1)(j) - mean_gh));
            }
            g[0] = std::move(dx);
        }
        if (s.needs_grad(1)) g[1] = s.grad * saved->xhat;
        if (s.needs_grad(2)) g[2] = s.grad;
        return g;
    });
}

// logsumexp without the shift by the maximum: right in exact arithmetic, but
// exp(a) overflows float32 for a > 88.7, and the value becomes infinite.
Tensor naive_logsumexp(const Tensor& a) {
    if (a.ndim() != 2) throw Error("naive_logsumexp: expected a [N, D] input, got " + shape_str(a.shape()));
    const std::size_t N = a.dim(0), D = a.dim(1);
    Array y = Array::from_shape({N});
    for (std::size_t n = 0; n < N; ++n) {
        float sum = 0.0f;
        for (std::size_t j = 0; j < D; ++j) sum += std::exp(a.value()(n, j));
        y(n) = std::log(sum);
    }
    return record("naive_logsumexp", std::move(y), {a}, [N, D](Step& s) -> Grads {
        Array da = Array::from_shape({N, D});
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t j = 0; j < D; ++j) da(n, j) = s.grad(n) * std::exp(s.input(0)(n, j) - s.output()(n));
        return {std::move(da)};
    });
}

}  // namespace tutorial
