// The model interface: what a latent-variable model offers so that the library
// trains it (the ELBO, KL schedules, free bits, checkpoints), evaluates it (NLL, KL,
// -ELBO, importance-weighted NLL, active units, mutual information) and generates
// from it, whatever its data (data::Batch). A new model implements
// LatentVariableModel and, to generate, SequenceGenerator or ImageGenerator; it then
// gets all of that, and the tapegrad-vae subcommands once it is registered
// (registry.hpp). docs/adding_a_model.md walks through one of each.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/data/dataset.hpp"
#include "models/vae/elbo.hpp"
#include "nn/module.hpp"

namespace tapegrad::models::vae {

using data::Batch;

class LatentVariableModel : public nn::Module {
public:
    // Z, the size of z.
    virtual std::size_t latent_size() const = 0;
    // false: a plain autoencoder baseline (z is the posterior's mean; no KL term).
    virtual bool variational() const { return true; }

    // q(z | x [, c]) of a batch: [B, Z].
    virtual nn::dist::Normal posterior(const Batch& batch) const = 0;
    // p(z [, c]): N(0, I) unless a model's prior depends on a condition (a learned
    // prior p(z | source) in translation). [B, Z]
    virtual nn::dist::Normal prior(const Batch& batch) const;
    // -log p(x | z [, c]) of each example: [B]. z is [B, Z].
    virtual Tensor neg_log_likelihood(const Batch& batch, const Tensor& z) const = 0;
    // The same summed over the batch (a scalar): what training differentiates. By
    // default sum(neg_log_likelihood); a model overrides it where the sum is cheaper
    // (a fused loss that never holds per-example values).
    virtual Tensor total_neg_log_likelihood(const Batch& batch, const Tensor& z) const;

    // -ELBO of a batch with KL weight beta and free bits (elbo.hpp):
    //   q = posterior(x); z = q.rsample() (q's mean when not variational);
    //   loss = (total_neg_log_likelihood(x, z) + beta KL(q || prior(x))) / B.
    // Written once for every model; a model overrides it only to share work between
    // its posterior and its likelihood, with the same numbers.
    virtual ELBO loss(const Batch& batch, float beta, float free_bits = 0.0f) const;

    // The model's full configuration: what a checkpoint records and what the model
    // is rebuilt from (registry.hpp).
    virtual nlohmann::json config_json() const = 0;
};

// Models that generate token sequences step by step (sentence VAEs, translation).
// The decoder's state between steps is the model's own business: a DecoderState
// subclass it creates and reads back.
class SequenceGenerator {
public:
    struct DecoderState {
        virtual ~DecoderState() = default;
    };
    virtual ~SequenceGenerator() = default;
    // The state before the first token, for z [B, Z] (and a condition, when the model
    // has one: the source sentences of a translation; else an empty batch).
    virtual std::unique_ptr<DecoderState> start(const Tensor& z, const Batch& condition) const = 0;
    // One step: the previous tokens [B] (<sos> first) -> logits over the vocabulary
    // [B, V]; advances the state.
    virtual Tensor step(const Indices& tokens, DecoderState& state) const = 0;
    // Keeps rows `rows` of the state, in that order (beam search reorders and
    // repeats rows).
    virtual void select_rows(DecoderState& state, const std::vector<std::size_t>& rows) const = 0;
    virtual std::size_t vocabulary_size() const = 0;
};

// Models that generate images: the decoder's mean image for z [B, Z] (and labels,
// for a conditional model), [B, D] in [0, 1].
class ImageGenerator {
public:
    virtual ~ImageGenerator() = default;
    virtual Array mean_image(const Tensor& z, const Batch& condition) const = 0;
};

}  // namespace tapegrad::models::vae
