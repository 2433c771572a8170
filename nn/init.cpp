// Only this file includes xtensor-blas (for QR); it must not include <cblas.h>.
#include "nn/init.hpp"

#include <cmath>

#include <xtensor-blas/xlinalg.hpp>

#include "autograd/random.hpp"

namespace tapegrad::nn::init {

namespace {
Array& values(Tensor& t) {
    if (!t.is_leaf()) throw Error("init: only leaves (parameters) can be initialised in place");
    return t.mutable_value();
}

void check_matrix(const Tensor& t, const char* what) {
    if (t.ndim() < 2)
        throw Error(std::string(what) + ": needs a tensor with at least 2 axes, got shape " + shape_str(t.value().shape()));
}
}  // namespace

std::pair<float, float> fans(const Shape& s) {
    if (s.size() < 2) throw Error("fans: a weight needs at least 2 axes, got " + shape_str(s));
    float receptive = 1.0f;
    for (std::size_t i = 2; i < s.size(); ++i) receptive *= static_cast<float>(s[i]);
    return {static_cast<float>(s[1]) * receptive, static_cast<float>(s[0]) * receptive};
}

void uniform(Tensor t, float lo, float hi) {
    Array& v = values(t);
    v = autograd::uniform(shape_of(v), lo, hi);
}

void normal(Tensor t, float mean, float std) {
    Array& v = values(t);
    v = mean + std * autograd::randn(shape_of(v));
}

void constant(Tensor t, float value) { values(t).fill(value); }
void zeros(Tensor t) { constant(std::move(t), 0.0f); }

void xavier_uniform(Tensor t, float gain) {
    check_matrix(t, "xavier_uniform");
    auto [in, out] = fans(t.shape());
    const float b = gain * std::sqrt(6.0f / (in + out));
    uniform(std::move(t), -b, b);
}

void xavier_normal(Tensor t, float gain) {
    check_matrix(t, "xavier_normal");
    auto [in, out] = fans(t.shape());
    normal(std::move(t), 0.0f, gain * std::sqrt(2.0f / (in + out)));
}

void kaiming_uniform(Tensor t, float a, Fan mode) {
    check_matrix(t, "kaiming_uniform");
    auto [in, out] = fans(t.shape());
    const float gain = std::sqrt(2.0f / (1.0f + a * a));
    const float b = gain * std::sqrt(3.0f / (mode == Fan::in ? in : out));
    uniform(std::move(t), -b, b);
}

void kaiming_normal(Tensor t, float a, Fan mode) {
    check_matrix(t, "kaiming_normal");
    auto [in, out] = fans(t.shape());
    const float gain = std::sqrt(2.0f / (1.0f + a * a));
    normal(std::move(t), 0.0f, gain / std::sqrt(mode == Fan::in ? in : out));
}

void orthogonal(Tensor t, float gain) {
    check_matrix(t, "orthogonal");
    Array& v = values(t);
    const std::size_t rows = v.shape()[0], cols = v.size() / rows;
    const bool wide = rows < cols;  // QR needs a tall matrix: decompose the transpose
    Array g = autograd::randn(wide ? Shape{cols, rows} : Shape{rows, cols});
    auto [q, r] = xt::linalg::qr(g);  // q [max, min], r [min, min]
    // Multiplying q's columns by sign(diag r) makes the result uniformly distributed.
    Array qs = q;
    for (std::size_t j = 0; j < qs.shape()[1]; ++j) {
        const float sign = r(j, j) < 0.0f ? -1.0f : 1.0f;
        for (std::size_t i = 0; i < qs.shape()[0]; ++i) qs(i, j) *= sign;
    }
    Array out = wide ? Array(xt::transpose(qs)) : qs;
    out *= gain;
    out.reshape(shape_of(v));
    v = out;
}

}  // namespace tapegrad::nn::init
