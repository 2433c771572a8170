// Probability distributions as values: Normal, Bernoulli, Categorical, and
// kl_divergence as an overload set (overload resolution is the registry).
// Everything is composed from tape ops, so log-densities, entropies and KL terms
// are differentiable with respect to the distributions' parameters.
// Shapes: every method works element-wise over the parameters' shape ("batch shape");
// Categorical's last axis holds the K classes and is reduced.
#pragma once

#include <functional>

#include "autograd/tensor.hpp"

namespace tapegrad::nn::dist {

using autograd::Tensor;

// N(loc, scale^2), element-wise.
class Normal {
public:
    Normal() = default;  // undefined until assigned (lets result structs hold one)
    Normal(Tensor loc, Tensor scale);
    // From a log-variance, the usual VAE encoder output: scale = exp(logvar / 2).
    static Normal from_logvar(Tensor loc, Tensor logvar);
    static Normal standard(const Shape& shape);  // N(0, 1)

    // The reparameterisation trick (Kingma & Welling 2014): z = loc + scale * eps,
    // eps ~ N(0, 1) from the seeded engine; gradients flow to loc and scale.
    Tensor rsample() const;
    Tensor rsample(const Array& eps) const;  // with given noise [shape] (tests, fixed-noise evaluation)
    Tensor rsample(std::size_t n) const;     // n samples: [n, shape...]
    Tensor sample() const;                   // no gradient
    Tensor log_prob(const Tensor& x) const;  // [shape] -> [shape]
    Tensor entropy() const;                  // [shape]
    Tensor mean() const { return loc; }
    Tensor stddev() const { return scale; }
    Tensor variance() const;
    Shape shape() const { return loc.shape(); }

    Tensor loc, scale;
    Tensor log_scale;  // log(scale); exactly logvar / 2 when built from_logvar

private:
    Normal(Tensor loc, Tensor scale, Tensor log_scale);
};

// Bernoulli(sigmoid(logits)) over {0, 1}, element-wise; log_prob is computed from
// the logits without overflow (as binary_cross_entropy_with_logits).
class Bernoulli {
public:
    explicit Bernoulli(Tensor logits);
    Tensor log_prob(const Tensor& x) const;  // x in {0, 1} (or [0, 1] for grey levels) -> [shape]
    Tensor entropy() const;
    Tensor probs() const;  // sigmoid(logits)
    Tensor mean() const { return probs(); }
    Array sample() const;  // 0/1, no gradient
    Tensor logits;
};

// Categorical over K classes given logits [..., K].
class Categorical {
public:
    explicit Categorical(Tensor logits);
    Tensor log_prob(const Indices& value) const;  // value [...] -> [...]
    Tensor entropy() const;                       // [...]
    Tensor probs() const;                         // [..., K]
    Tensor log_probs() const;                     // log_softmax(logits), [..., K]
    Indices sample() const;                       // [...], no gradient
    Tensor logits;
};

// Closed forms, element-wise over the batch shape ([...] for Categorical).
// KL(q || p) for q = N(m1, s1), p = N(m2, s2): log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
Tensor kl_divergence(const Normal& q, const Normal& p);
// sum over {0,1} of q(x) (log q(x) - log p(x))
Tensor kl_divergence(const Bernoulli& q, const Bernoulli& p);
// sum over k of q_k (log q_k - log p_k)
Tensor kl_divergence(const Categorical& q, const Categorical& p);

// A Monte-Carlo estimate of KL(q || p) for any pair where q has rsample() and both
// have log_prob(): the mean over `samples` draws z ~ q of log q(z) - log p(z).
// Differentiable through the reparameterised samples.
template <class Q, class P>
Tensor monte_carlo_kl(const Q& q, const P& p, std::size_t samples);

// ---- implementation of the template ----
Tensor mean_over_first_axis(const Tensor& t);

template <class Q, class P>
Tensor monte_carlo_kl(const Q& q, const P& p, std::size_t samples) {
    const Tensor z = q.rsample(samples);  // [n, shape...]
    return mean_over_first_axis(q.log_prob(z) - p.log_prob(z));
}

}  // namespace tapegrad::nn::dist
