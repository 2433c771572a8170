#include "models/vae/elbo.hpp"

#include <limits>

#include "autograd/autograd.hpp"

namespace tapegrad::models::vae {

using namespace autograd;

ELBO elbo(const Tensor& recon, const nn::dist::Normal& q, const nn::dist::Normal& p, float beta, float free_bits) {
    if (q.loc.ndim() != 2) throw Error("elbo: the posterior must be [B, Z], got " + shape_str(q.loc.value().shape()));
    const std::size_t B = q.loc.value().shape()[0];
    const Tensor kl_elements = kl_divergence(q, p);  // [B, Z]
    ELBO e;
    e.kl = sum(kl_elements);
    e.recon = recon;
    e.beta = beta;
    e.batch = B;
    Tensor kl_term = e.kl;
    if (free_bits > 0.0f) {
        // B * sum_j max(free_bits, mean_b KL_bj)
        kl_term = static_cast<float>(B) * sum(clamp(mean(kl_elements, 0), free_bits, std::numeric_limits<float>::infinity()));
    }
    e.loss = (recon + beta * kl_term) / static_cast<float>(B);
    return e;
}

ELBO reconstruction_only(const Tensor& recon, std::size_t batch) {
    ELBO e;
    e.recon = recon;
    e.kl = Tensor(Array(0.0f));
    e.batch = batch;
    e.beta = 0.0f;
    e.loss = recon / static_cast<float>(batch);
    return e;
}

}  // namespace tapegrad::models::vae
