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

nlohmann::json to_json(const SentenceVAEConfig& c) {
    return {{"vocab", c.vocab},
            {"embed", c.embed},
            {"hidden", c.hidden},
            {"latent", c.latent},
            {"layers", c.layers},
            {"cell", c.cell == Cell::gru ? "gru" : "lstm"},
            {"bidirectional", c.bidirectional},
            {"embedding_dropout", c.embedding_dropout},
            {"word_dropout", c.word_dropout},
            {"variational", c.variational}};
}

SentenceVAEConfig sentence_config_from_json(const nlohmann::json& j) {
    SentenceVAEConfig c;
    c.vocab = j.at("vocab");
    c.embed = j.at("embed");
    c.hidden = j.at("hidden");
    c.latent = j.at("latent");
    c.layers = j.value("layers", std::size_t{1});
    c.cell = parse_cell(j.value("cell", std::string("gru")));
    c.bidirectional = j.value("bidirectional", false);
    c.embedding_dropout = j.value("embedding_dropout", 0.5f);
    c.word_dropout = j.value("word_dropout", 0.0f);
    c.variational = j.value("variational", true);
    return c;
}

Cell parse_cell(const std::string& name) {
    if (name == "gru") return Cell::gru;
    if (name == "lstm") return Cell::lstm;
    throw Error("unknown recurrent cell '" + name + "' (expected gru or lstm)");
}

SentenceVAE::SentenceVAE(const SentenceVAEConfig& c, std::size_t decoder_input_size)
    : config(c),
      embedding(c.vocab, c.embed, Vocabulary::pad),
      encoder(make_rnn(c.cell, c.embed, c.hidden, c.layers, c.bidirectional)),
      to_mu(encoder_state_size(c), c.latent),
      to_logvar(encoder_state_size(c), c.latent),
      to_hidden(c.latent, c.hidden * c.layers),
      decoder(make_rnn(c.cell, decoder_input_size ? decoder_input_size : c.embed, c.hidden, c.layers, false)),
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

// The decoder's state between steps: its RNN state [L, B, H] (c is undefined for a
// GRU), and z [B, Z], which decoder_input may read at every step.
struct SentenceVAE::RnnState : DecoderState {
    Tensor h, c, z;
};

namespace {
// The decoder's initial state from z: to_hidden(z) [B, L*H] -> [L, B, H] (and c = 0).
void initial_state(const SentenceVAE& m, const Tensor& z, Tensor& h, Tensor& c) {
    const std::size_t B = z.shape()[0], L = m.config.layers, H = m.config.hidden;
    h = transpose(reshape(m.to_hidden(z), {B, L, H}), {1, 0, 2});
    c = m.config.cell == Cell::lstm ? Tensor(zeros({L, B, H})) : Tensor();
}
}  // namespace

Tensor SentenceVAE::decoder_input(const Tensor& embedded, const Tensor&) const { return embedded; }

Tensor SentenceVAE::decoder_hidden(const TextBatch& b, const Tensor& z, const Tensor& embedded) const {
    Tensor looked_up = embedded;
    if (is_training() && config.word_dropout > 0.0f) {
        const Indices tokens =
            nn::word_dropout(b.inputs, config.word_dropout, Vocabulary::unk, {Vocabulary::sos, Vocabulary::pad});
        looked_up = embedding(tokens);
    } else if (!looked_up.defined()) {
        looked_up = embedding(b.inputs);
    }
    const Tensor emb = nn::embedding_dropout(looked_up, config.embedding_dropout, is_training());  // [B, T, E]
    Tensor h0, c0;
    initial_state(*this, z, h0, c0);
    const RNNResult r = run(*decoder, decoder_input(emb, z), b.lengths, h0, c0);  // output [B, T, H]
    return take_rows(r.output, b.real_rows());  // only real positions go on to the vocabulary projection: [N, H]
}

Tensor SentenceVAE::token_nll(const TextBatch& b, const Tensor& z) const {
    return linear_cross_entropy(decoder_hidden(b, z, Tensor()), to_vocab.weight, to_vocab.bias, b.real_targets(),
                                Reduction::none);
}

Tensor SentenceVAE::total_nll(const TextBatch& b, const Tensor& z, const Tensor& embedded) const {
    return linear_cross_entropy(decoder_hidden(b, z, embedded), to_vocab.weight, to_vocab.bias, b.real_targets(),
                                Reduction::sum);
}

Tensor per_sentence_sums(const Tensor& token_values, const TextBatch& b) {
    // A [B, N] matrix of ones picks each sentence's run of tokens.
    Array sentence_of = zeros({b.size(), b.tokens()});
    for (std::size_t i = 0, n = 0; i < b.size(); ++i)
        for (std::size_t k = 0; k < b.lengths[i]; ++k) sentence_of(i, n++) = 1.0f;
    return reshape(matmul(Tensor(sentence_of), reshape(token_values, {b.tokens(), 1})), {b.size()});
}

Tensor SentenceVAE::neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return per_sentence_sums(token_nll(batch.text, z), batch.text);
}

Tensor SentenceVAE::total_neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return total_nll(batch.text, z, Tensor());
}

ELBO SentenceVAE::loss(const Batch& batch, float beta, float free_bits) const {
    const TextBatch& b = batch.text;
    const Tensor embedded = embedding(b.inputs);
    const Normal q = encode(b, embedded);
    if (!config.variational) return reconstruction_only(total_nll(b, q.loc, embedded), b.size());
    const Tensor z = q.rsample();
    return elbo(total_nll(b, z, embedded), q, prior(batch), beta, free_bits);
}

std::unique_ptr<SequenceGenerator::DecoderState> SentenceVAE::start(const Tensor& z, const Batch&) const {
    auto s = std::make_unique<RnnState>();
    initial_state(*this, z, s->h, s->c);
    s->z = z;
    return s;
}

Tensor SentenceVAE::step(const Indices& tokens, DecoderState& state) const {
    auto& s = dynamic_cast<RnnState&>(state);
    const std::size_t B = tokens.size();
    Indices ids = tokens;
    ids.reshape({B, 1});
    const Tensor emb = decoder_input(embedding(ids), s.z);  // [B, 1, E']
    const RNNResult r = run(*decoder, emb, {}, s.h, s.c);
    s.h = r.h;
    s.c = r.c;
    return to_vocab(reshape(r.output, {B, infer}));  // [B, V]
}

void SentenceVAE::select_rows(DecoderState& state, const std::vector<std::size_t>& rows) const {
    auto& s = dynamic_cast<RnnState&>(state);
    Indices keep = Indices::from_shape({rows.size()});
    for (std::size_t i = 0; i < rows.size(); ++i) keep(i) = static_cast<std::int64_t>(rows[i]);
    auto take = [&](const Tensor& t) {  // rows of the batch axis of [L, B, H]
        if (!t.defined()) return t;
        return transpose(gather(transpose(t, 0, 1), keep), 0, 1);
    };
    s.h = take(s.h);
    s.c = take(s.c);
    if (s.z.defined()) s.z = gather(s.z, keep);
}

}  // namespace tapegrad::models::vae
