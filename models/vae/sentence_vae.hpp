// The sentence VAE of Bowman et al. 2016, "Generating Sentences from a Continuous
// Space", with the reference Sentence-VAE's defaults:
//   embedding  ids [B, T] -> [B, T, E]        (shared by encoder and decoder)
//   encoder    RNN over the sentence; its final states [B, L*D*H] -> mu, logvar [B, Z]
//   z          mu + sigma * eps               (reparameterised; mu alone when not variational)
//   decoder    RNN with initial state to_hidden(z) [L, B, H], teacher-forced on
//              <sos> w1 .. wn (word dropout, then embedding dropout, in training)
//   to_vocab   [N, H] -> logits over the vocabulary on real (non-pad) positions only
// The vocabulary projection and softmax cross-entropy are one fused op, so the
// [N, V] logits exist once. Read docs/vae.md for the equations and their sources.
#pragma once

#include <memory>
#include <string>

#include "models/data/text.hpp"
#include "models/vae/elbo.hpp"
#include "nn/layers.hpp"
#include "nn/rnn.hpp"

namespace tapegrad::models::vae {

enum class Cell { gru, lstm };
Cell parse_cell(const std::string& name);  // "gru" | "lstm"

struct SentenceVAEConfig {
    std::size_t vocab = 10000, embed = 300, hidden = 256, latent = 16, layers = 1;
    Cell cell = Cell::gru;
    bool bidirectional = false;     // the encoder's
    float embedding_dropout = 0.5f; // on the decoder's input embeddings (training only)
    float word_dropout = 0.0f;      // decoder input tokens replaced by <unk> (training only)
    bool variational = true;        // false: the plain autoencoder baseline (z = mu, no KL)
};

// The decoder's recurrent state between steps (c is undefined for a GRU).
struct DecoderState {
    Tensor h, c;  // [L, B, H]
};

class SentenceVAE : public nn::Module {
public:
    explicit SentenceVAE(const SentenceVAEConfig& config);

    // q(z|x) for a batch: [B, Z]. `embedded` may pass embedding(batch.inputs) when
    // the caller has it already.
    nn::dist::Normal encode(const data::TextBatch& batch, const Tensor& embedded = Tensor()) const;
    // -log p(target token | z, previous tokens) at every real position [N], ordered
    // sentence by sentence (sentence 0's tokens, then sentence 1's, ...).
    Tensor token_nll(const data::TextBatch& batch, const Tensor& z) const;
    // The same summed over the batch (a scalar).
    Tensor total_nll(const data::TextBatch& batch, const Tensor& z, const Tensor& embedded = Tensor()) const;
    // -ELBO of a batch with KL weight beta (and optional free bits).
    ELBO loss(const data::TextBatch& batch, float beta = 1.0f, float free_bits = 0.0f) const;

    // Step-by-step decoding, for generation.
    DecoderState initial_state(const Tensor& z) const;                       // z [B, Z]
    Tensor step(const Indices& tokens, DecoderState& state) const;           // tokens [B] -> logits [B, V]

    SentenceVAEConfig config;
    nn::Embedding embedding;
    std::unique_ptr<nn::RNNBase> encoder;
    nn::Linear to_mu, to_logvar, to_hidden;
    std::unique_ptr<nn::RNNBase> decoder;
    nn::Linear to_vocab;

private:
    // [N, H] at real positions; `embedded` (embedding of batch.inputs) is reused
    // when word dropout does not change the decoder's tokens.
    Tensor decoder_hidden(const data::TextBatch& batch, const Tensor& z, const Tensor& embedded) const;
    Indices flat_targets(const data::TextBatch& batch) const;                     // [N]
};

}  // namespace tapegrad::models::vae
