// The image VAE of Kingma & Welling (2014), as in pytorch/examples:
//   encoder  x [B, D] -> relu(Linear(D, H)) -> mu, logvar [B, Z]
//   decoder  z [B, Z] -> relu(Linear(Z, H)) -> Linear(H, D) -> logits [B, D]
// with a Bernoulli likelihood on pixel intensities (binary cross-entropy on logits),
// or a Gaussian one N(x; sigmoid(logits), sigma^2). With variational = false it is
// the plain autoencoder baseline: z = mu, no KL term.
#pragma once

#include <string>

#include "models/vae/elbo.hpp"
#include "nn/layers.hpp"

namespace tapegrad::models::vae {

enum class Likelihood { bernoulli, gaussian };
Likelihood parse_likelihood(const std::string& name);  // "bernoulli" | "gaussian"

struct ImageVAEConfig {
    std::size_t input = 784, hidden = 400, latent = 20;
    Likelihood likelihood = Likelihood::bernoulli;
    float sigma = 1.0f;       // Gaussian likelihood: the fixed standard deviation
    bool variational = true;  // false: plain autoencoder
};

struct ImageVAEOutput {
    Tensor logits;               // [B, D]
    nn::dist::Normal posterior;  // q(z|x), [B, Z]
    Tensor z;                    // [B, Z]
};

class ImageVAE : public nn::Module {
public:
    explicit ImageVAE(const ImageVAEConfig& config);

    nn::dist::Normal encode(const Tensor& x) const;  // [B, D] -> q(z|x) [B, Z]
    Tensor decode(const Tensor& z) const;            // [..., Z] -> logits [..., D]
    ImageVAEOutput forward(const Tensor& x) const;   // z = rsample (training) or q's sample in eval, too
    // -log p(x|z) per example [B] (gradients flow), from decoder logits.
    Tensor neg_log_likelihood(const Tensor& logits, const Tensor& x) const;
    // The summed form used by training (fused where the likelihood allows).
    Tensor total_neg_log_likelihood(const Tensor& logits, const Tensor& x) const;
    // -ELBO of a batch with KL weight beta (and optional free bits).
    ELBO loss(const Tensor& x, float beta = 1.0f, float free_bits = 0.0f) const;
    // The decoder's mean image for logits: sigmoid (both likelihoods).
    Array mean_image(const Tensor& logits) const;

    ImageVAEConfig config;
    nn::Linear encoder_hidden, to_mu, to_logvar, decoder_hidden, to_pixels;
};

}  // namespace tapegrad::models::vae
