#include "nn/dist/distributions.hpp"

#include <cmath>
#include <limits>
#include <numbers>

#include "autograd/autograd.hpp"

namespace tapegrad::nn::dist {

using namespace autograd;

namespace {
const float half_log_2pi = 0.5f * std::log(2.0f * std::numbers::pi_v<float>);

void same_shape(const char* what, const Tensor& a, const Tensor& b) {
    if (a.value().shape() != b.value().shape())
        throw Error(std::string(what) + ": parameters of shapes " + shape_str(a.value().shape()) + " and " +
                    shape_str(b.value().shape()) + " differ");
}
}  // namespace

Tensor mean_over_first_axis(const Tensor& t) { return mean(t, 0); }

Normal::Normal(Tensor l, Tensor s) : loc(std::move(l)), scale(std::move(s)) {
    same_shape("Normal", loc, scale);
    const float* v = scale.value().data();
    for (std::size_t i = 0; i < scale.size(); ++i)
        if (!(v[i] > 0.0f)) throw Error("Normal: scale must be positive, found " + std::to_string(v[i]));
    log_scale = log(scale);
}

Normal::Normal(Tensor l, Tensor s, Tensor ls) : loc(std::move(l)), scale(std::move(s)), log_scale(std::move(ls)) {}

Normal Normal::from_logvar(Tensor loc, Tensor logvar) {
    same_shape("Normal::from_logvar", loc, logvar);
    Tensor half = logvar * 0.5f;
    return Normal(std::move(loc), exp(half), half);
}

Normal Normal::standard(const Shape& shape) { return Normal(Tensor(zeros(shape)), Tensor(ones(shape))); }

Tensor Normal::rsample() const { return rsample(randn(loc.shape())); }

Tensor Normal::rsample(const Array& eps) const {
    if (eps.shape() != loc.value().shape())
        throw Error("Normal::rsample: noise of shape " + shape_str(eps.shape()) + " for a distribution of shape " +
                    shape_str(loc.value().shape()));
    return loc + scale * Tensor(eps);
}

Tensor Normal::rsample(std::size_t n) const {
    Shape s = loc.shape();
    s.insert(s.begin(), n);
    return loc + scale * Tensor(randn(s));  // [n, shape...] by broadcasting
}

Tensor Normal::sample() const {
    NoGradGuard no_grad;
    return rsample();
}

// log N(x; m, s) = -(x - m)^2 / (2 s^2) - log s - log(2 pi) / 2
Tensor Normal::log_prob(const Tensor& x) const {
    const Tensor d = (x - loc) / scale;
    return -0.5f * d * d - log_scale - half_log_2pi;
}

// H = 1/2 + log(2 pi)/2 + log s
Tensor Normal::entropy() const { return log_scale + (0.5f + half_log_2pi); }

Tensor Normal::variance() const { return scale * scale; }

Bernoulli::Bernoulli(Tensor l) : logits(std::move(l)) {}

// log p(x) = -BCE(logits, x) = x log sigmoid(l) + (1 - x) log sigmoid(-l)
Tensor Bernoulli::log_prob(const Tensor& x) const {
    return -binary_cross_entropy_with_logits(logits, x, Reduction::none);
}

// H = -p log p - (1-p) log(1-p) = softplus(l) - l * sigmoid(l)
Tensor Bernoulli::entropy() const { return softplus(logits) - logits * sigmoid(logits); }

Tensor Bernoulli::probs() const { return sigmoid(logits); }

Array Bernoulli::sample() const {
    const Array p = 1.0f / (1.0f + xt::exp(-logits.value()));
    Array u = rand(shape_of(p));
    return xt::where(u < p, 1.0f, 0.0f);
}

Categorical::Categorical(Tensor l) : logits(std::move(l)) {
    if (logits.ndim() < 1 || logits.value().shape().back() == 0)
        throw Error("Categorical: logits need a last axis of classes, got shape " + shape_str(logits.value().shape()));
}

Tensor Categorical::log_probs() const { return log_softmax(logits, -1); }
Tensor Categorical::probs() const { return softmax(logits, -1); }

Tensor Categorical::log_prob(const Indices& value) const {
    Shape batch = logits.shape();
    const std::size_t K = batch.back();
    batch.pop_back();
    if (shape_of(value) != batch)
        throw Error("Categorical::log_prob: values of shape " + shape_str(value.shape()) + " for logits of shape " +
                    shape_str(logits.value().shape()) + " (expected " + shape_str(batch) + ")");
    Indices flat = value;
    flat.reshape({value.size()});
    const Tensor rows = reshape(logits, {infer, K});
    return reshape(-cross_entropy(rows, flat, Reduction::none, std::numeric_limits<std::int64_t>::min()), batch);
}

// H = -sum_k p_k log p_k
Tensor Categorical::entropy() const {
    const Tensor lp = log_probs();
    return -sum(exp(lp) * lp, -1);
}

Indices Categorical::sample() const {
    NoGradGuard no_grad;
    Shape batch = logits.shape();
    const std::size_t K = batch.back();
    batch.pop_back();
    const Array p = probs().value();
    Indices out = Indices::from_shape(batch);
    auto& g = generator();
    for (std::size_t i = 0; i < out.size(); ++i) {
        const float u = g.uniform();
        float acc = 0.0f;
        std::size_t k = 0;
        for (; k + 1 < K; ++k) {
            acc += p.data()[i * K + k];
            if (u < acc) break;
        }
        out.data()[i] = static_cast<std::int64_t>(k);
    }
    return out;
}

Tensor kl_divergence(const Normal& q, const Normal& p) {
    same_shape("kl_divergence(Normal, Normal)", q.loc, p.loc);
    const Tensor var_ratio = exp(2.0f * (q.log_scale - p.log_scale));  // s1^2 / s2^2
    const Tensor d = (q.loc - p.loc) / p.scale;
    return 0.5f * (var_ratio + d * d - 1.0f) - (q.log_scale - p.log_scale);
}

// sum_x q(x) (log q(x) - log p(x)) with x in {0, 1}, from logits:
// q1 (log q1 - log p1) + q0 (log q0 - log p0),  log q1 = log_sigmoid(l), log q0 = log_sigmoid(-l)
Tensor kl_divergence(const Bernoulli& q, const Bernoulli& p) {
    same_shape("kl_divergence(Bernoulli, Bernoulli)", q.logits, p.logits);
    const Tensor q1 = sigmoid(q.logits);
    const Tensor on = log_sigmoid(q.logits) - log_sigmoid(p.logits);
    const Tensor off = log_sigmoid(-q.logits) - log_sigmoid(-p.logits);
    return q1 * on + (1.0f - q1) * off;
}

Tensor kl_divergence(const Categorical& q, const Categorical& p) {
    same_shape("kl_divergence(Categorical, Categorical)", q.logits, p.logits);
    const Tensor lq = q.log_probs();
    return sum(exp(lq) * (lq - p.log_probs()), -1);
}

}  // namespace tapegrad::nn::dist
