// Translation with attention, deterministic or variational:
//   the attention model (RNNsearch-style: Bahdanau et al. 2015, with the
//   multiplicative "general" score of Luong et al. 2015), and on it
//   VNMT (Zhang et al. 2016, "Variational Neural Machine Translation"), which adds
//   a latent sentence code z with a learned prior p(z | x) and a posterior q(z | x, y).
//
//   source x   ids [B, S] -> embed [B, S, E] -> bidirectional GRU -> states h [B, S, 2H]
//              summary  m_x = mean of h over the real positions         [B, 2H]
//   prior      p(z | x):    tanh(Linear(m_x)) -> mu, logvar             [B, Z]
//   posterior  q(z | x, y): tanh(Linear([m_x, m_y])) -> mu, logvar, where m_y is
//              the mean of the same encoder's states over the target sentence
//              (Zhang et al.), or with --posterior embeddings the mean of the
//              target's word embeddings [B, E], which spares a second encoder pass
//   z at every step: e = tanh(from_z(z)) [B, H] joins each decoder input
//   decoder    GRU over [embed(y_{t-1}), e] from s_0 = tanh(Linear(m_x)) -> s_t [B, T, H]
//   attention  score(s_t, h_j) = s_t^T W_a h_j / sqrt(2H) over the real source
//              positions (a padding mask), context c_t = sum_j a_tj h_j,
//              output o_t = tanh(W_c [c_t, s_t])                       [B, T, H]
//   to_vocab   o_t -> logits over the target vocabulary (real positions only)
//
// The deterministic model is the same network without z (no prior, posterior or
// e): its latent size is 0. Training minimises -log p(y | x) for it, and for VNMT
// the conditional ELBO  -E_q[log p(y | z, x)] + KL(q(z | x, y) || p(z | x)).
// At test time VNMT decodes with z = the prior's mean. The decoder does not feed
// o_{t-1} back into its input (Luong's input feeding), so teacher-forced training
// runs the GRU over the whole target in one fused op and attends for all steps in
// one batched product. docs/translation.md derives it and maps it to this code.
#pragma once

#include <memory>

#include "models/data/text.hpp"
#include "models/vae/model.hpp"
#include "nn/layers.hpp"
#include "nn/rnn.hpp"

namespace tapegrad::models::vae {

struct TranslatorConfig {
    std::size_t source_vocab = 0, target_vocab = 0;  // set from the data
    std::size_t embed = 256, hidden = 256, latent = 64;
    bool variational = false;  // true: VNMT; false: the deterministic attention model
    // What the posterior reads of the target: the encoder's states (as Zhang et al.)
    // or only its word embeddings, which costs no second pass of the encoder.
    enum class PosteriorInput { encoder, embeddings };
    PosteriorInput posterior = PosteriorInput::encoder;
    float dropout = 0.2f;      // on the embeddings and the attention outputs, in training
};
nlohmann::json to_json(const TranslatorConfig& c);
TranslatorConfig translator_config_from_json(const nlohmann::json& j);
// "encoder" or "embeddings"; anything else is an error that names the choices.
TranslatorConfig::PosteriorInput posterior_input_from_name(const std::string& name);

class Translator : public LatentVariableModel, public SequenceGenerator {
public:
    explicit Translator(const TranslatorConfig& config);

    // The source side read once: what the prior, the posterior and every decoder
    // step need from it.
    struct Encoded {
        Tensor states;   // [B, S, 2H], zero at padding
        Tensor summary;  // [B, 2H], mean over the real positions
        Tensor mask;     // [B, 1, S] additive padding mask (a constant)
    };
    Encoded encode_source(const data::TextBatch& source) const;
    // The mean over the real positions of the encoder's states of a sentence, read
    // with the given embedding (the target's for the posterior): [B, 2H].
    Tensor summary(const data::TextBatch& sentences, const nn::Embedding& embedding) const;
    // m_y, what the posterior reads of the target: [B, 2H] or, with embeddings, [B, E].
    Tensor target_summary(const data::TextBatch& target) const;
    // p(z | x) and q(z | x, y) from the source summary (and the target's).
    nn::dist::Normal prior_from(const Tensor& source_summary) const;
    nn::dist::Normal posterior_from(const Tensor& source_summary, const data::TextBatch& target) const;
    // Attention over the source for decoder states s [B, T, H] -> outputs o [B, T, H].
    Tensor attend(const Tensor& s, const Encoded& source) const;
    // -log p(y_t | y_<t, z, x) at every real target position [N], sentence by sentence.
    Tensor token_nll(const Batch& batch, const Encoded& source, const Tensor& z) const;

    // The model interface (model.hpp): batch.source is x, batch.text is y.
    std::size_t latent_size() const override { return config.variational ? config.latent : 0; }
    bool variational() const override { return config.variational; }
    nn::dist::Normal posterior(const Batch& batch) const override;
    nn::dist::Normal prior(const Batch& batch) const override;
    Tensor neg_log_likelihood(const Batch& batch, const Tensor& z) const override;
    Tensor total_neg_log_likelihood(const Batch& batch, const Tensor& z) const override;
    // The source is encoded once for the prior, the posterior and the decoder.
    ELBO loss(const Batch& batch, float beta, float free_bits = 0.0f) const override;
    nlohmann::json config_json() const override { return to_json(config); }

    // Generation (SequenceGenerator): the condition's source sentences are encoded in
    // start(); each step runs the GRU one position and attends over them.
    std::unique_ptr<DecoderState> start(const Tensor& z, const Batch& condition) const override;
    Tensor step(const Indices& tokens, DecoderState& state) const override;
    void select_rows(DecoderState& state, const std::vector<std::size_t>& rows) const override;
    std::size_t vocabulary_size() const override { return config.target_vocab; }

    TranslatorConfig config;
    nn::Embedding source_embedding, target_embedding;
    nn::GRU encoder;
    nn::Linear to_initial;                                      // m_x -> s_0
    nn::Linear prior_hidden, prior_mu, prior_logvar;            // VNMT only
    nn::Linear posterior_hidden, posterior_mu, posterior_logvar;
    nn::Linear from_z;
    nn::GRU decoder;
    nn::Linear attention_query;                                 // W_a (no bias)
    nn::Linear attention_out;                                   // W_c
    nn::Linear to_vocab;

private:
    struct State;
    Tensor decoder_outputs(const data::TextBatch& target, const Encoded& source, const Tensor& z) const;  // [N, H]
    Tensor total_nll(const Batch& batch, const Encoded& source, const Tensor& z) const;  // summed over the batch
    Tensor initial_state(const Encoded& source) const;  // [1, B, H]
    Tensor z_feature(const Tensor& z) const;            // e = tanh(from_z(z)) [B, H]
};

}  // namespace tapegrad::models::vae
