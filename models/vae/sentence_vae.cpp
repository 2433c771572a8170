#include "models/vae/sentence_vae.hpp"

#include "autograd/autograd.hpp"

namespace tapegrad::models::vae {

using namespace autograd;
using data::TextBatch;
using data::Vocabulary;
using nn::dist::Normal;

namespace {

std::unique_ptr<nn::RNNBase> make_rnn(Cell cell, std::size_t input, std::size_t hidden, std::size_t layers, bool bi) {
    nn::RNNOptions o;
    o.input_size = input;
    o.hidden_size = hidden;
    o.num_layers = layers;
    o.bidirectional = bi;
    if (cell == Cell::gru) return std::make_unique<nn::GRU>(o);
    return std::make_unique<nn::LSTM>(o);
}

struct RNNResult {
    Tensor output, h, c;
};

// GRU and LSTM have different state types; the model treats them alike through this.
RNNResult run(const nn::RNNBase& rnn, const Tensor& x, const std::vector<std::size_t>& lengths, const Tensor& h0,
              const Tensor& c0) {
    if (auto* gru = dynamic_cast<const nn::GRU*>(&rnn)) {
        nn::GRUOutput o = gru->forward(x, lengths, h0);
        return {o.output, o.last, Tensor()};
    }
    const auto& lstm = dynamic_cast<const nn::LSTM&>(rnn);
    nn::LSTMOutput o = lstm.forward(x, lengths, h0, c0);
    return {o.output, o.last_h, o.last_c};
}

std::size_t encoder_state_size(const SentenceVAEConfig& c) { return c.hidden * c.layers * (c.bidirectional ? 2 : 1); }

}  // namespace

Cell parse_cell(const std::string& name) {
    if (name == "gru") return Cell::gru;
    if (name == "lstm") return Cell::lstm;
    throw Error("unknown recurrent cell '" + name + "' (expected gru or lstm)");
}

SentenceVAE::SentenceVAE(const SentenceVAEConfig& c)
    : config(c),
      embedding(c.vocab, c.embed, Vocabulary::pad),
      encoder(make_rnn(c.cell, c.embed, c.hidden, c.layers, c.bidirectional)),
      to_mu(encoder_state_size(c), c.latent),
      to_logvar(encoder_state_size(c), c.latent),
      to_hidden(c.latent, c.hidden * c.layers),
      decoder(make_rnn(c.cell, c.embed, c.hidden, c.layers, false)),
      to_vocab(c.hidden, c.vocab) {
    if (c.vocab <= 4) throw Error("SentenceVAE: the vocabulary must hold more than the 4 special tokens");
    register_module("embedding", embedding);
    register_module("encoder", *encoder);
    register_module("to_mu", to_mu);
    register_module("to_logvar", to_logvar);
    register_module("to_hidden", to_hidden);
    register_module("decoder", *decoder);
    register_module("to_vocab", to_vocab);
}

Normal SentenceVAE::encode(const TextBatch& b, const Tensor& embedded) const {
    const std::size_t B = b.size();
    const Tensor emb = embedded.defined() ? embedded : embedding(b.inputs);  // [B, T, E]
    const RNNResult r = run(*encoder, emb, b.lengths, Tensor(), Tensor());
    // Final states of every layer and direction side by side: [L*D, B, H] -> [B, L*D*H].
    const Tensor h = reshape(transpose(r.h, {1, 0, 2}), {B, infer});
    return Normal::from_logvar(to_mu(h), to_logvar(h));
}

DecoderState SentenceVAE::initial_state(const Tensor& z) const {
    const std::size_t B = z.shape()[0], L = config.layers, H = config.hidden;
    // to_hidden(z) [B, L*H] -> [L, B, H]
    DecoderState s;
    s.h = transpose(reshape(to_hidden(z), {B, L, H}), {1, 0, 2});
    if (config.cell == Cell::lstm) s.c = Tensor(zeros({L, B, H}));
    return s;
}

Tensor SentenceVAE::decoder_hidden(const TextBatch& b, const Tensor& z, const Tensor& embedded) const {
    const std::size_t B = b.size(), T = b.inputs.shape()[1];
    Tensor looked_up = embedded;
    if (is_training() && config.word_dropout > 0.0f) {
        const Indices tokens =
            nn::word_dropout(b.inputs, config.word_dropout, Vocabulary::unk, {Vocabulary::sos, Vocabulary::pad});
        looked_up = embedding(tokens);
    } else if (!looked_up.defined()) {
        looked_up = embedding(b.inputs);
    }
    const Tensor emb = nn::embedding_dropout(looked_up, config.embedding_dropout, is_training());  // [B, T, E]
    const DecoderState s0 = initial_state(z);
    const RNNResult r = run(*decoder, emb, b.lengths, s0.h, s0.c);        // output [B, T, H]
    // Only real positions go on to the vocabulary projection.
    Indices rows = Indices::from_shape({b.tokens()});
    std::size_t n = 0;
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t t = 0; t < b.lengths[i]; ++t) rows(n++) = static_cast<std::int64_t>(i * T + t);
    return take_rows(r.output, rows);  // [N, H]
}

Indices SentenceVAE::flat_targets(const TextBatch& b) const {
    const std::size_t T = b.targets.shape()[1];
    Indices t = Indices::from_shape({b.tokens()});
    std::size_t n = 0;
    for (std::size_t i = 0; i < b.size(); ++i)
        for (std::size_t k = 0; k < b.lengths[i]; ++k) t(n++) = b.targets(i * T + k);
    return t;
}

Tensor SentenceVAE::token_nll(const TextBatch& b, const Tensor& z) const {
    return linear_cross_entropy(decoder_hidden(b, z, Tensor()), to_vocab.weight, to_vocab.bias, flat_targets(b),
                                Reduction::none);
}

Tensor SentenceVAE::total_nll(const TextBatch& b, const Tensor& z, const Tensor& embedded) const {
    return linear_cross_entropy(decoder_hidden(b, z, embedded), to_vocab.weight, to_vocab.bias, flat_targets(b),
                                Reduction::sum);
}

ELBO SentenceVAE::loss(const TextBatch& b, float beta, float free_bits) const {
    // Encoder and decoder read the same embedded sentence: one lookup, and one
    // [V, E] gradient instead of two.
    const Tensor embedded = embedding(b.inputs);
    const Normal q = encode(b, embedded);
    const Tensor z = config.variational ? q.rsample() : q.loc;
    const Tensor recon = total_nll(b, z, embedded);
    if (!config.variational) {
        ELBO e;
        e.recon = recon;
        e.kl = Tensor(Array(0.0f));
        e.batch = b.size();
        e.beta = 0.0f;
        e.loss = recon / static_cast<float>(e.batch);
        return e;
    }
    return elbo(recon, q, Normal::standard(q.shape()), beta, free_bits);
}

Tensor SentenceVAE::step(const Indices& tokens, DecoderState& state) const {
    const std::size_t B = tokens.size();
    Indices ids = tokens;
    ids.reshape({B, 1});
    const Tensor emb = embedding(ids);  // [B, 1, E]
    const RNNResult r = run(*decoder, emb, {}, state.h, state.c);
    state.h = r.h;
    state.c = r.c;
    return to_vocab(reshape(r.output, {B, infer}));  // [B, V]
}

}  // namespace tapegrad::models::vae
