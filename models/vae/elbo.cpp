#include "models/vae/elbo.hpp"

#include <limits>
#include <vector>

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
    auto* group = WholeBatch::group();
    if (free_bits > 0.0f && (!group || group->size() == 1)) {
        // B * sum_j max(free_bits, mean_b KL_bj)
        kl_term = static_cast<float>(B) * sum(clamp(mean(kl_elements, 0), free_bits, std::numeric_limits<float>::infinity()));
    } else if (free_bits > 0.0f) {
        // The same term as a sum over examples, so that ranks holding parts of the
        // batch add up to it: dimension j counts its examples' KL where the whole
        // batch's mean is above the floor (the gradient flows), and free_bits for
        // each example where it is not (no gradient).
        const Tensor per_dim = sum(kl_elements, 0);  // [Z]
        std::vector<double> totals(per_dim.value().begin(), per_dim.value().end());
        totals.push_back(static_cast<double>(B));
        group->sum(totals.data(), totals.size());
        const double rows = totals.back();
        Array above = Array::from_shape(per_dim.shape());
        float floored = 0.0f;
        for (std::size_t j = 0; j < above.size(); ++j) {
            above(j) = totals[j] / rows >= free_bits ? 1.0f : 0.0f;  // clamp's gradient flows at the floor too
            floored += above(j) == 0.0f ? free_bits * static_cast<float>(B) : 0.0f;
        }
        kl_term = sum(per_dim * Tensor(std::move(above))) + floored;
    }
    e.loss = (recon + beta * kl_term) / static_cast<float>(B);
    return e;
}

namespace {
thread_local nn::distributed::Communicator* whole_batch_group = nullptr;
}
WholeBatch::WholeBatch(nn::distributed::Communicator& group) : outer_(whole_batch_group) { whole_batch_group = &group; }
WholeBatch::~WholeBatch() { whole_batch_group = outer_; }
nn::distributed::Communicator* WholeBatch::group() { return whole_batch_group; }

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
