#include "models/vae/conditional_vae.hpp"

#include "autograd/autograd.hpp"

namespace tapegrad::models::vae {

using namespace autograd;
using nn::dist::Normal;

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

Tensor ConditionalVAE::one_hot(const std::vector<std::uint8_t>& labels) const {
    Array h = zeros({labels.size(), config.classes});
    for (std::size_t b = 0; b < labels.size(); ++b) {
        if (labels[b] >= config.classes)
            throw Error("ConditionalVAE: label " + std::to_string(labels[b]) + " is not a class in [0, " +
                        std::to_string(config.classes) + ")");
        h(b, labels[b]) = 1.0f;
    }
    return Tensor(h);
}

Normal ConditionalVAE::encode(const Tensor& x, const std::vector<std::uint8_t>& labels) const {
    if (x.ndim() != 2 || x.value().shape()[0] != labels.size())
        throw Error("ConditionalVAE: images " + shape_str(x.value().shape()) + " and " + std::to_string(labels.size()) +
                    " labels do not match");
    const Tensor h = relu(encoder_hidden(concat({x, one_hot(labels)}, 1)));  // [B, H]
    return Normal::from_logvar(to_mu(h), to_logvar(h));
}

Tensor ConditionalVAE::decode(const Tensor& z, const std::vector<std::uint8_t>& labels) const {
    return to_pixels(relu(decoder_hidden(concat({z, one_hot(labels)}, 1))));
}

ELBO ConditionalVAE::loss(const Tensor& x, const std::vector<std::uint8_t>& labels, float beta) const {
    const Normal q = encode(x, labels);
    const Tensor logits = decode(q.rsample(), labels);
    const Tensor recon = binary_cross_entropy_with_logits(logits, x, Reduction::sum);
    return elbo(recon, q, Normal::standard(q.shape()), beta);
}

}  // namespace tapegrad::models::vae
