// The image VAE (image_vae.hpp).
#include "models/vae/image_vae.hpp"

#include <cmath>
#include <numbers>

#include "autograd/autograd.hpp"

namespace tapegrad::models::vae {

using namespace autograd;
using nn::dist::Normal;

Likelihood parse_likelihood(const std::string& name) {
    if (name == "bernoulli") return Likelihood::bernoulli;
    if (name == "gaussian") return Likelihood::gaussian;
    throw Error("unknown likelihood '" + name + "' (expected bernoulli or gaussian)");
}

nlohmann::json to_json(const ImageVAEConfig& c) {
    return {{"input", c.input},
            {"hidden", c.hidden},
            {"latent", c.latent},
            {"likelihood", c.likelihood == Likelihood::bernoulli ? "bernoulli" : "gaussian"},
            {"sigma", c.sigma},
            {"variational", c.variational}};
}

ImageVAEConfig image_config_from_json(const nlohmann::json& j) {
    ImageVAEConfig c;
    c.input = j.at("input");
    c.hidden = j.at("hidden");
    c.latent = j.at("latent");
    c.likelihood = parse_likelihood(j.value("likelihood", std::string("bernoulli")));
    c.sigma = j.value("sigma", 1.0f);
    c.variational = j.value("variational", true);
    return c;
}

ImageVAE::ImageVAE(const ImageVAEConfig& c)
    : config(c),
      encoder_hidden(c.input, c.hidden),
      to_mu(c.hidden, c.latent),
      to_logvar(c.hidden, c.latent),
      decoder_hidden(c.latent, c.hidden),
      to_pixels(c.hidden, c.input) {
    if (!(c.sigma > 0.0f)) throw Error("ImageVAE: sigma must be positive");
    register_module("encoder_hidden", encoder_hidden);
    register_module("to_mu", to_mu);
    register_module("to_logvar", to_logvar);
    register_module("decoder_hidden", decoder_hidden);
    register_module("to_pixels", to_pixels);
}

Normal ImageVAE::encode(const Tensor& x) const {
    if (x.ndim() != 2 || x.shape()[1] != config.input)
        throw Error("ImageVAE: images must be [B, " + std::to_string(config.input) + "], got " + shape_str(x.shape()));
    const Tensor h = relu(encoder_hidden(x));  // [B, H]
    return Normal::from_logvar(to_mu(h), to_logvar(h));
}

Tensor ImageVAE::decode(const Tensor& z) const { return to_pixels(relu(decoder_hidden(z))); }

Tensor ImageVAE::neg_log_likelihood_of(const Tensor& logits, const Tensor& x) const {
    if (config.likelihood == Likelihood::bernoulli)
        return sum(binary_cross_entropy_with_logits(logits, x, Reduction::none), -1);
    const Normal px(sigmoid(logits), Tensor(full(logits.shape(), config.sigma)));
    return -sum(px.log_prob(x), -1);
}

Tensor ImageVAE::total_neg_log_likelihood_of(const Tensor& logits, const Tensor& x) const {
    if (config.likelihood == Likelihood::bernoulli) return binary_cross_entropy_with_logits(logits, x, Reduction::sum);
    // -log N(x; m, s^2) summed = sum (x - m)^2 / (2 s^2) + n (log s + log(2 pi) / 2)
    const float n = static_cast<float>(x.size());
    const float constant = n * (std::log(config.sigma) + 0.5f * std::log(2.0f * std::numbers::pi_v<float>));
    return mse_loss(sigmoid(logits), x, Reduction::sum) / (2.0f * config.sigma * config.sigma) + constant;
}

Tensor ImageVAE::neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return neg_log_likelihood_of(decode(z), batch.x);
}

Tensor ImageVAE::total_neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return total_neg_log_likelihood_of(decode(z), batch.x);
}

Array ImageVAE::mean_image(const Tensor& z, const Batch&) const {
    return 1.0f / (1.0f + xt::exp(-decode(z).value()));
}

}  // namespace tapegrad::models::vae
