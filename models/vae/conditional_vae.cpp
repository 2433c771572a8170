// The class-conditional VAE (conditional_vae.hpp).
#include "models/vae/conditional_vae.hpp"

#include "autograd/autograd.hpp"

namespace tapegrad::models::vae {

using namespace autograd;
using nn::dist::Normal;

nlohmann::json to_json(const ConditionalVAEConfig& c) {
    return {{"input", c.input}, {"classes", c.classes}, {"hidden", c.hidden}, {"latent", c.latent}};
}

ConditionalVAEConfig conditional_config_from_json(const nlohmann::json& j) {
    ConditionalVAEConfig c;
    c.input = j.at("input");
    c.classes = j.at("classes");
    c.hidden = j.at("hidden");
    c.latent = j.at("latent");
    return c;
}

ConditionalVAE::ConditionalVAE(const ConditionalVAEConfig& c)
    : config(c),
      encoder_hidden(c.input + c.classes, c.hidden),
      to_mu(c.hidden, c.latent),
      to_logvar(c.hidden, c.latent),
      decoder_hidden(c.latent + c.classes, c.hidden),
      to_pixels(c.hidden, c.input) {
    register_module("encoder_hidden", encoder_hidden);
    register_module("to_mu", to_mu);
    register_module("to_logvar", to_logvar);
    register_module("decoder_hidden", decoder_hidden);
    register_module("to_pixels", to_pixels);
}

Tensor ConditionalVAE::one_hot(const Indices& labels) const {
    Array h = zeros({labels.size(), config.classes});
    for (std::size_t b = 0; b < labels.size(); ++b) {
        if (labels(b) < 0 || static_cast<std::size_t>(labels(b)) >= config.classes)
            throw Error("ConditionalVAE: label " + std::to_string(labels(b)) + " is not a class in [0, " +
                        std::to_string(config.classes) + ")");
        h(b, static_cast<std::size_t>(labels(b))) = 1.0f;
    }
    return Tensor(h);
}

Normal ConditionalVAE::encode(const Tensor& x, const Indices& labels) const {
    if (x.ndim() != 2 || x.shape()[0] != labels.size())
        throw Error("ConditionalVAE: images " + shape_str(x.shape()) + " and " + std::to_string(labels.size()) +
                    " labels do not match (a data set without labels?)");
    const Tensor h = relu(encoder_hidden(concat({x, one_hot(labels)}, 1)));  // [B, H]
    return Normal::from_logvar(to_mu(h), to_logvar(h));
}

Tensor ConditionalVAE::decode(const Tensor& z, const Indices& labels) const {
    return to_pixels(relu(decoder_hidden(concat({z, one_hot(labels)}, 1))));
}

Tensor ConditionalVAE::neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return sum(binary_cross_entropy_with_logits(decode(z, batch.labels), batch.x, Reduction::none), -1);
}

Tensor ConditionalVAE::total_neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return binary_cross_entropy_with_logits(decode(z, batch.labels), batch.x, Reduction::sum);
}

Array ConditionalVAE::mean_image(const Tensor& z, const Batch& condition) const {
    return 1.0f / (1.0f + xt::exp(-decode(z, condition.labels).value()));
}

}  // namespace tapegrad::models::vae
