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
//
// Its parts are public members, and what the decoder reads at each step is a hook
// (decoder_input): a new model derives from SentenceVAE to change it, e.g. feeding z
// at every step (examples/05_z_every_step.cpp, docs/adding_a_model.md).
#pragma once

#include <memory>
#include <string>

#include "models/data/text.hpp"
#include "models/vae/model.hpp"
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
nlohmann::json to_json(const SentenceVAEConfig& c);
SentenceVAEConfig sentence_config_from_json(const nlohmann::json& j);

// Values at the real positions [N] (sentence by sentence) summed per sentence: [B].
Tensor per_sentence_sums(const Tensor& token_values, const data::TextBatch& batch);

class SentenceVAE : public LatentVariableModel, public SequenceGenerator {
public:
    // decoder_input_size: the size of what decoder_input() gives the decoder at each
    // step (0: the embedding's, config.embed).
    explicit SentenceVAE(const SentenceVAEConfig& config, std::size_t decoder_input_size = 0);

    // q(z|x) for a batch: [B, Z]. `embedded` may pass embedding(batch.inputs) when
    // the caller has it already.
    nn::dist::Normal encode(const data::TextBatch& batch, const Tensor& embedded = Tensor()) const;
    // -log p(target token | z, previous tokens) at every real position [N], ordered
    // sentence by sentence (sentence 0's tokens, then sentence 1's, ...).
    Tensor token_nll(const data::TextBatch& batch, const Tensor& z) const;

    // The model interface (model.hpp): the batch's sentences are batch.text.
    std::size_t latent_size() const override { return config.latent; }
    bool variational() const override { return config.variational; }
    nn::dist::Normal posterior(const Batch& batch) const override { return encode(batch.text); }
    Tensor neg_log_likelihood(const Batch& batch, const Tensor& z) const override;        // [B]
    Tensor total_neg_log_likelihood(const Batch& batch, const Tensor& z) const override;  // the fused loss, summed
    // Encoder and decoder read the same embedded sentence: one lookup, and one [V, E]
    // gradient instead of two. The same numbers as the interface's loss.
    ELBO loss(const Batch& batch, float beta, float free_bits = 0.0f) const override;
    nlohmann::json config_json() const override { return to_json(config); }

    // Generation (SequenceGenerator): the decoder's state is its RNN state.
    std::unique_ptr<DecoderState> start(const Tensor& z, const Batch& condition) const override;
    Tensor step(const Indices& tokens, DecoderState& state) const override;
    void select_rows(DecoderState& state, const std::vector<std::size_t>& rows) const override;
    std::size_t vocabulary_size() const override { return config.vocab; }

    SentenceVAEConfig config;
    nn::Embedding embedding;
    std::unique_ptr<nn::RNNBase> encoder;
    nn::Linear to_mu, to_logvar, to_hidden;
    std::unique_ptr<nn::RNNBase> decoder;
    nn::Linear to_vocab;

protected:
    // What the decoder reads at every step: the embedded inputs [B, T, E] (after
    // word and embedding dropout) and z [B, Z] -> [B, T, decoder_input_size]. By
    // default the embeddings alone (z enters only through the initial state).
    virtual Tensor decoder_input(const Tensor& embedded, const Tensor& z) const;

private:
    struct RnnState;
    // [N, H] at real positions; `embedded` (embedding of batch.inputs) is reused when
    // word dropout does not change the decoder's tokens.
    Tensor decoder_hidden(const data::TextBatch& batch, const Tensor& z, const Tensor& embedded) const;
    Tensor total_nll(const data::TextBatch& batch, const Tensor& z, const Tensor& embedded) const;
};

}  // namespace tapegrad::models::vae
