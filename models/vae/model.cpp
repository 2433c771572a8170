// The interface's defaults (model.hpp): the standard normal prior, the summed
// likelihood and the ELBO written once.
#include "models/vae/model.hpp"

#include "autograd/autograd.hpp"

namespace tapegrad::models::vae {

using nn::dist::Normal;

Normal LatentVariableModel::prior(const Batch& batch) const {
    return Normal::standard({batch.size(), latent_size()});
}

Tensor LatentVariableModel::total_neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return autograd::sum(neg_log_likelihood(batch, z));
}

ELBO LatentVariableModel::loss(const Batch& batch, float beta, float free_bits) const {
    const Normal q = posterior(batch);
    if (!variational()) return reconstruction_only(total_neg_log_likelihood(batch, q.loc), batch.size());
    const Tensor z = q.rsample();
    return elbo(total_neg_log_likelihood(batch, z), q, prior(batch), beta, free_bits);
}

}  // namespace tapegrad::models::vae
