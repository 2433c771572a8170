// A Transformer sentence VAE, the model of the PyTorch reference
// bench/reference/transformer_vae.py (docs/transformer.md):
//   embed      token embedding [V, D] (init N(0, 1/D)) + learned positions [P, D]
//              (init N(0, 0.02)), then dropout; encoder and decoder embed apart
//   encoder    pre-LN Transformer encoder (GELU) with a final LayerNorm over
//              <s> w1 .. wn, pads masked; mean over the real positions ->
//              mu = hidden2mean, log sigma^2 = hidden2logv
//   z          mu + sigma * eps
//   decoder    pre-LN Transformer decoder, causal self-attention over <s> w1 .. wn,
//              cross-attention to ONE memory slot latent2memory(z) [B, 1, D]
//   output     outputs2vocab on the real positions only, summed cross-entropy
// Parameter names and layouts are the reference's state_dict's. Two remedies for
// posterior collapse are options: word dropout on the decoder's inputs, and
// latent2input(z) added to every decoder input embedding (z_at_inputs).
// Training and evaluation compute the real positions only (nn::Packing): a PTB
// batch is about half padding. Generation decodes one position at a time with
// cached keys and values.
#pragma once

#include <memory>

#include "models/data/text.hpp"
#include "models/vae/model.hpp"
#include "nn/layers.hpp"
#include "nn/transformer.hpp"

namespace tapegrad::models::vae {

struct TransformerVAEConfig {
    std::size_t vocab = 10000, d_model = 256, heads = 4, ff = 1024, layers = 2, latent = 16, max_positions = 64;
    float dropout = 0.1f;       // wherever torch.nn puts it, and on the embeddings
    float word_dropout = 0.0f;  // decoder input tokens replaced by <unk> (training only)
    bool z_at_inputs = false;   // also add latent2input(z) to every decoder input
    bool variational = true;
};
nlohmann::json to_json(const TransformerVAEConfig& c);
TransformerVAEConfig transformer_config_from_json(const nlohmann::json& j);

class TransformerVAE : public LatentVariableModel, public SequenceGenerator {
public:
    explicit TransformerVAE(const TransformerVAEConfig& config);

    // Tokens (any shape S) at `positions` (S, or what broadcasts to it): their
    // embeddings plus their positions' [S..., D] (dropout in training).
    Tensor embed(const Indices& tokens, const Indices& positions) const;
    // The encoder's outputs averaged over each sentence's real positions: [B, D].
    Tensor pooled(const data::TextBatch& batch) const;
    // The decoder's outputs at the real positions [N, D], sentence by sentence.
    Tensor decoder_hidden(const data::TextBatch& batch, const Tensor& z) const;
    // -log p(target | z, previous) at every real position [N].
    Tensor token_nll(const data::TextBatch& batch, const Tensor& z) const;

    std::size_t latent_size() const override { return config.latent; }
    bool variational() const override { return config.variational; }
    nn::dist::Normal posterior(const Batch& batch) const override;
    Tensor neg_log_likelihood(const Batch& batch, const Tensor& z) const override;
    Tensor total_neg_log_likelihood(const Batch& batch, const Tensor& z) const override;
    nlohmann::json config_json() const override { return to_json(config); }

    std::unique_ptr<DecoderState> start(const Tensor& z, const Batch& condition) const override;
    Tensor step(const Indices& tokens, DecoderState& state) const override;
    void select_rows(DecoderState& state, const std::vector<std::size_t>& rows) const override;
    std::size_t vocabulary_size() const override { return config.vocab; }

    TransformerVAEConfig config;
    nn::Embedding embedding, pos_embedding;
    nn::TransformerEncoder encoder;
    nn::TransformerDecoder decoder;
    nn::Linear hidden2mean, hidden2logv, latent2memory, outputs2vocab;
    std::unique_ptr<nn::Linear> latent2input;  // only with z_at_inputs

private:
    struct Cache;
    // The decoder's input: the tokens embedded (after word dropout in training), plus
    // latent2input(z) when z_at_inputs (z shaped to broadcast with the tokens: one row
    // per packed token, or [B, 1, latent] for [B, 1] tokens).
    Tensor decoder_input(const Indices& tokens, const Indices& positions, const Tensor& z) const;
};

}  // namespace tapegrad::models::vae
