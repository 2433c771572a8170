// A class-conditional VAE (Sohn et al. 2015, "Learning Structured Output
// Representation using Deep Conditional Generative Models"), added to show how a
// model is built from the library without changing it (docs/adding_a_model.md):
//   encoder  q(z | x, y):  [x, onehot(y)] [B, D+C] -> relu(Linear) [B, H] -> mu, logvar [B, Z]
//   decoder  p(x | z, y):  [z, onehot(y)] [B, Z+C] -> relu(Linear) [B, H] -> logits [B, D]
//   prior    p(z) = N(0, I)
// Because the label is given to the decoder, z is free to hold what the label does
// not say (style, thickness, pose), and one can ask for a sample of a chosen class.
#pragma once

#include <vector>

#include "models/vae/elbo.hpp"
#include "nn/layers.hpp"

namespace tapegrad::models::vae {

struct ConditionalVAEConfig {
    std::size_t input = 784, classes = 10, hidden = 400, latent = 20;
};

class ConditionalVAE : public nn::Module {
public:
    explicit ConditionalVAE(const ConditionalVAEConfig& config);

    nn::dist::Normal encode(const Tensor& x, const std::vector<std::uint8_t>& labels) const;  // [B, D] -> [B, Z]
    Tensor decode(const Tensor& z, const std::vector<std::uint8_t>& labels) const;            // [B, Z] -> logits [B, D]
    // -ELBO of a labelled batch: Bernoulli likelihood on the pixels, KL weight beta.
    ELBO loss(const Tensor& x, const std::vector<std::uint8_t>& labels, float beta = 1.0f) const;
    // One-hot rows [B, C] for labels (a constant: labels get no gradient).
    Tensor one_hot(const std::vector<std::uint8_t>& labels) const;

    ConditionalVAEConfig config;
    nn::Linear encoder_hidden, to_mu, to_logvar, decoder_hidden, to_pixels;
};

}  // namespace tapegrad::models::vae
