// The image VAE of Kingma & Welling (2014), as in pytorch/examples:
//   encoder  x [B, D] -> relu(Linear(D, H)) -> mu, logvar [B, Z]
//   decoder  z [B, Z] -> relu(Linear(Z, H)) -> Linear(H, D) -> logits [B, D]
// with a Bernoulli likelihood on pixel intensities (binary cross-entropy on logits),
// or a Gaussian one N(x; sigmoid(logits), sigma^2). With variational = false it is
// the plain autoencoder baseline: z = mu, no KL term.
#pragma once

#include <string>

#include "models/vae/model.hpp"
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
nlohmann::json to_json(const ImageVAEConfig& c);
ImageVAEConfig image_config_from_json(const nlohmann::json& j);

class ImageVAE : public LatentVariableModel, public ImageGenerator {
public:
    explicit ImageVAE(const ImageVAEConfig& config);

    nn::dist::Normal encode(const Tensor& x) const;  // [B, D] -> q(z|x) [B, Z]
    Tensor decode(const Tensor& z) const;            // [..., Z] -> logits [..., D]
    // -log p(x|z) per example [B] from decoder logits, and its sum (fused where the
    // likelihood allows).
    Tensor neg_log_likelihood_of(const Tensor& logits, const Tensor& x) const;
    Tensor total_neg_log_likelihood_of(const Tensor& logits, const Tensor& x) const;

    // The model interface (model.hpp): the batch's images are batch.x.
    std::size_t latent_size() const override { return config.latent; }
    bool variational() const override { return config.variational; }
    nn::dist::Normal posterior(const Batch& batch) const override { return encode(batch.x); }
    Tensor neg_log_likelihood(const Batch& batch, const Tensor& z) const override;
    Tensor total_neg_log_likelihood(const Batch& batch, const Tensor& z) const override;
    nlohmann::json config_json() const override { return to_json(config); }
    // The decoder's mean image sigmoid(logits), for both likelihoods.
    Array mean_image(const Tensor& z, const Batch& condition) const override;

    ImageVAEConfig config;
    nn::Linear encoder_hidden, to_mu, to_logvar, decoder_hidden, to_pixels;
};

}  // namespace tapegrad::models::vae
