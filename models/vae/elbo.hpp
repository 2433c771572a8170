// The ELBO, written once for every model:
//   -ELBO(x) = -E_q(z|x)[log p(x|z)] + KL(q(z|x) || p(z))
// estimated with one reparameterised sample z ~ q(z|x), so that its gradient with
// respect to every parameter falls out of the tape. Read docs/vae.md for the maths.
#pragma once

#include "nn/dist/distributions.hpp"
#include "nn/distributed.hpp"

namespace tapegrad::models::vae {

using autograd::Tensor;

struct ELBO {
    Tensor loss;   // (recon + beta * kl_term) / B: what backward() is called on
    Tensor recon;  // sum over the batch of -log p(x|z)
    Tensor kl;     // sum over the batch of KL(q || p) (before any free bits)
    float beta = 1.0f;
    std::size_t batch = 0;
    // Per example, for reporting: recon / B, kl / B, (recon + kl) / B (= -ELBO).
    double recon_per_example() const { return recon.item() / static_cast<double>(batch); }
    double kl_per_example() const { return kl.item() / static_cast<double>(batch); }
    double neg_elbo_per_example() const { return recon_per_example() + kl_per_example(); }
};

// recon: sum over the batch of -log p(x|z) (a scalar). q, p: [B, Z].
// free_bits (Kingma et al. 2016, "free bits"): if > 0, each latent dimension's KL,
// averaged over the batch, counts as at least free_bits nats (no gradient below it),
// so the encoder may use that much information for free.
ELBO elbo(const Tensor& recon, const nn::dist::Normal& q, const nn::dist::Normal& p, float beta, float free_bits = 0.0f);

// In a data-parallel step each rank holds part of the batch (nn/distributed.hpp),
// but free bits compare the whole batch's mean KL per dimension with the floor.
// While a WholeBatch lives, elbo() sums its per-dimension KL totals and its number
// of examples over the group to find that mean; the rest of the ELBO is a sum over
// examples and needs nothing. (One rank: the group is a Solo and nothing changes.)
class WholeBatch {
public:
    explicit WholeBatch(nn::distributed::Communicator& group);
    ~WholeBatch();
    WholeBatch(const WholeBatch&) = delete;
    WholeBatch& operator=(const WholeBatch&) = delete;
    static nn::distributed::Communicator* group();

private:
    nn::distributed::Communicator* outer_;
};

// The plain autoencoder's loss: recon / B, no KL term (reported as 0, beta 0).
ELBO reconstruction_only(const Tensor& recon, std::size_t batch);

}  // namespace tapegrad::models::vae
