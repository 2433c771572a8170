// A class-conditional VAE (Sohn et al. 2015, "Learning Structured Output
// Representation using Deep Conditional Generative Models"), added to show how a
// model is built on the library without changing it (docs/adding_a_model.md):
//   encoder  q(z | x, y):  [x, onehot(y)] [B, D+C] -> relu(Linear) [B, H] -> mu, logvar [B, Z]
//   decoder  p(x | z, y):  [z, onehot(y)] [B, Z+C] -> relu(Linear) [B, H] -> logits [B, D]
//   prior    p(z) = N(0, I)
// Because the label is given to the decoder, z is free to hold what the label does
// not say (style, thickness, pose), and one can ask for a sample of a chosen class.
// The labels are the batch's (data::ImageDataset reads them with the images).
#pragma once

#include "models/vae/model.hpp"
#include "nn/layers.hpp"

namespace tapegrad::models::vae {

struct ConditionalVAEConfig {
    std::size_t input = 784, classes = 10, hidden = 400, latent = 20;
};
nlohmann::json to_json(const ConditionalVAEConfig& c);
ConditionalVAEConfig conditional_config_from_json(const nlohmann::json& j);

class ConditionalVAE : public LatentVariableModel, public ImageGenerator {
public:
    explicit ConditionalVAE(const ConditionalVAEConfig& config);

    nn::dist::Normal encode(const Tensor& x, const Indices& labels) const;  // [B, D], [B] -> [B, Z]
    Tensor decode(const Tensor& z, const Indices& labels) const;            // [B, Z], [B] -> logits [B, D]
    // One-hot rows [B, C] for labels (a constant: labels get no gradient).
    Tensor one_hot(const Indices& labels) const;

    std::size_t latent_size() const override { return config.latent; }
    nn::dist::Normal posterior(const Batch& batch) const override { return encode(batch.x, batch.labels); }
    // Bernoulli likelihood on the pixels.
    Tensor neg_log_likelihood(const Batch& batch, const Tensor& z) const override;
    Tensor total_neg_log_likelihood(const Batch& batch, const Tensor& z) const override;
    nlohmann::json config_json() const override { return to_json(config); }
    Array mean_image(const Tensor& z, const Batch& condition) const override;  // condition.labels [B]

    ConditionalVAEConfig config;
    nn::Linear encoder_hidden, to_mu, to_logvar, decoder_hidden, to_pixels;
};

}  // namespace tapegrad::models::vae
