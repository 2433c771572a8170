#include "models/vae/translator.hpp"

#include "autograd/autograd.hpp"
#include "models/vae/sentence_vae.hpp"  // per_sentence_sums

namespace tapegrad::models::vae {

using namespace autograd;
using data::TextBatch;
using data::Vocabulary;
using nn::dist::Normal;

namespace {

nn::RNNOptions gru_options(std::size_t input, std::size_t hidden, bool bidirectional) {
    nn::RNNOptions o;
    o.input_size = input;
    o.hidden_size = hidden;
    o.bidirectional = bidirectional;
    return o;
}

Tensor dropped(const Tensor& x, float p, bool training) { return training && p > 0.0f ? dropout(x, p) : x; }

// The mean over each row's real positions of x [B, T, D], zero at padding: [B, D].
Tensor mean_over_real(const Tensor& x, const std::vector<std::size_t>& lengths) {
    Array w = Array::from_shape({lengths.size(), 1});  // constants 1 / length
    for (std::size_t b = 0; b < lengths.size(); ++b) w(b, 0) = 1.0f / static_cast<float>(lengths[b]);
    return mul(sum(x, 1), Tensor(std::move(w)));
}

}  // namespace

nlohmann::json to_json(const TranslatorConfig& c) {
    nlohmann::json j = {{"source_vocab", c.source_vocab}, {"vocab", c.target_vocab}, {"embed", c.embed},
                        {"hidden", c.hidden},             {"latent", c.latent},      {"variational", c.variational},
                        {"dropout", c.dropout}};
    if (c.variational)  // the deterministic model has no posterior
        j["posterior"] = c.posterior == TranslatorConfig::PosteriorInput::embeddings ? "embeddings" : "encoder";
    return j;
}

TranslatorConfig::PosteriorInput posterior_input_from_name(const std::string& name) {
    if (name == "encoder") return TranslatorConfig::PosteriorInput::encoder;
    if (name == "embeddings") return TranslatorConfig::PosteriorInput::embeddings;
    throw Error("Translator: unknown posterior input '" + name + "' (expected encoder or embeddings)");
}

TranslatorConfig translator_config_from_json(const nlohmann::json& j) {
    TranslatorConfig c;
    c.source_vocab = j.at("source_vocab");
    c.target_vocab = j.at("vocab");
    c.embed = j.at("embed");
    c.hidden = j.at("hidden");
    c.latent = j.at("latent");
    c.variational = j.at("variational");
    c.dropout = j.value("dropout", 0.2f);
    c.posterior = posterior_input_from_name(j.value("posterior", std::string("encoder")));
    return c;
}

Translator::Translator(const TranslatorConfig& c)
    : config(c),
      source_embedding(c.source_vocab, c.embed, Vocabulary::pad),
      target_embedding(c.target_vocab, c.embed, Vocabulary::pad),
      encoder(gru_options(c.embed, c.hidden, true)),
      to_initial(2 * c.hidden, c.hidden),
      prior_hidden(2 * c.hidden, c.hidden),
      prior_mu(c.hidden, c.latent),
      prior_logvar(c.hidden, c.latent),
      posterior_hidden(2 * c.hidden + (c.posterior == TranslatorConfig::PosteriorInput::embeddings ? c.embed : 2 * c.hidden),
                       c.hidden),
      posterior_mu(c.hidden, c.latent),
      posterior_logvar(c.hidden, c.latent),
      from_z(c.latent, c.hidden),
      decoder(gru_options(c.embed + (c.variational ? c.hidden : 0), c.hidden, false)),
      attention_query(c.hidden, 2 * c.hidden, false),
      attention_out(3 * c.hidden, c.hidden),
      to_vocab(c.hidden, c.target_vocab) {
    if (c.source_vocab <= 4 || c.target_vocab <= 4)
        throw Error("Translator: each vocabulary must hold more than the 4 special tokens");
    if (c.variational && c.latent == 0) throw Error("Translator: a variational model needs a latent size of at least 1");
    register_module("source_embedding", source_embedding);
    register_module("target_embedding", target_embedding);
    register_module("encoder", encoder);
    register_module("to_initial", to_initial);
    if (c.variational) {  // the deterministic model has no z: these stay out of its parameters
        register_module("prior_hidden", prior_hidden);
        register_module("prior_mu", prior_mu);
        register_module("prior_logvar", prior_logvar);
        register_module("posterior_hidden", posterior_hidden);
        register_module("posterior_mu", posterior_mu);
        register_module("posterior_logvar", posterior_logvar);
        register_module("from_z", from_z);
    }
    register_module("decoder", decoder);
    register_module("attention_query", attention_query);
    register_module("attention_out", attention_out);
    register_module("to_vocab", to_vocab);
}

// The encoder reads a sentence's words and </s> (the TextBatch's targets).
Tensor Translator::summary(const TextBatch& s, const nn::Embedding& embedding) const {
    const Tensor states = encoder.forward(dropped(embedding(s.targets), config.dropout, is_training()), s.lengths).output;
    return mean_over_real(states, s.lengths);
}

Translator::Encoded Translator::encode_source(const TextBatch& s) const {
    if (s.size() == 0) throw Error("Translator: the batch has no source sentences (batch.source)");
    Encoded e;
    e.states = encoder.forward(dropped(source_embedding(s.targets), config.dropout, is_training()), s.lengths).output;
    e.summary = mean_over_real(e.states, s.lengths);
    const std::size_t B = s.size(), S = s.targets.shape()[1];
    Array mask = padding_mask(s.lengths, S);
    mask.reshape({B, 1, S});
    e.mask = Tensor(std::move(mask));
    return e;
}

Normal Translator::prior_from(const Tensor& m_x) const {
    const Tensor h = tanh(prior_hidden(m_x));
    return Normal::from_logvar(prior_mu(h), prior_logvar(h));
}

Tensor Translator::target_summary(const TextBatch& t) const {
    if (config.posterior == TranslatorConfig::PosteriorInput::encoder) return summary(t, target_embedding);
    // The padding row of the embedding is zero, so the sum covers the real words only.
    const Tensor words = dropped(target_embedding(t.targets), config.dropout, is_training());  // [B, T, E]
    return mean_over_real(words, t.lengths);
}

Normal Translator::posterior_from(const Tensor& m_x, const TextBatch& target) const {
    const Tensor h = tanh(posterior_hidden(concat({m_x, target_summary(target)}, 1)));
    return Normal::from_logvar(posterior_mu(h), posterior_logvar(h));
}

Tensor Translator::attend(const Tensor& s, const Encoded& source) const {
    const Attention a = scaled_dot_product_attention(attention_query(s), source.states, source.states, source.mask);
    return tanh(attention_out(concat({a.output, s}, 2)));
}

Tensor Translator::initial_state(const Encoded& source) const {
    const Tensor s0 = tanh(to_initial(source.summary));  // [B, H]
    return unsqueeze(s0, 0);                              // [1, B, H]
}

Tensor Translator::z_feature(const Tensor& z) const { return tanh(from_z(z)); }

Tensor Translator::decoder_outputs(const TextBatch& t, const Encoded& source, const Tensor& z) const {
    Tensor x = dropped(target_embedding(t.inputs), config.dropout, is_training());  // [B, T, E]
    if (config.variational) {
        const std::size_t B = t.size(), T = t.inputs.shape()[1];
        x = concat({x, broadcast_to(unsqueeze(z_feature(z), 1), {B, T, config.hidden})}, 2);  // e at every step
    }
    const Tensor s = decoder.forward(x, t.lengths, initial_state(source)).output;  // [B, T, H]
    const Tensor o = dropped(attend(s, source), config.dropout, is_training());
    return take_rows(o, t.real_rows());  // [N, H]
}

Tensor Translator::token_nll(const Batch& batch, const Encoded& source, const Tensor& z) const {
    return linear_cross_entropy(decoder_outputs(batch.text, source, z), to_vocab.weight, to_vocab.bias,
                                batch.text.real_targets(), Reduction::none);
}

Normal Translator::prior(const Batch& batch) const {
    if (!config.variational) return Normal::standard({batch.size(), 0});
    return prior_from(encode_source(batch.source).summary);
}

Normal Translator::posterior(const Batch& batch) const {
    if (!config.variational) return Normal::standard({batch.size(), 0});
    return posterior_from(encode_source(batch.source).summary, batch.text);
}

Tensor Translator::neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return per_sentence_sums(token_nll(batch, encode_source(batch.source), z), batch.text);
}

Tensor Translator::total_nll(const Batch& batch, const Encoded& source, const Tensor& z) const {
    return linear_cross_entropy(decoder_outputs(batch.text, source, z), to_vocab.weight, to_vocab.bias,
                                batch.text.real_targets(), Reduction::sum);
}

Tensor Translator::total_neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return total_nll(batch, encode_source(batch.source), z);
}

ELBO Translator::loss(const Batch& batch, float beta, float free_bits) const {
    const Encoded source = encode_source(batch.source);
    if (!config.variational) return reconstruction_only(total_nll(batch, source, Tensor()), batch.size());
    const Normal q = posterior_from(source.summary, batch.text);
    return elbo(total_nll(batch, source, q.rsample()), q, prior_from(source.summary), beta, free_bits);
}

// ---------------------------------------------------------------- generation

struct Translator::State : DecoderState {
    Encoded source;
    Tensor h;  // the decoder GRU's state [1, B, H]
    Tensor e;  // tanh(from_z(z)) [B, H] (VNMT)
};

std::unique_ptr<SequenceGenerator::DecoderState> Translator::start(const Tensor& z, const Batch& condition) const {
    auto s = std::make_unique<State>();
    s->source = encode_source(condition.source);
    s->h = initial_state(s->source);
    if (config.variational) s->e = z_feature(z);
    return s;
}

Tensor Translator::step(const Indices& tokens, DecoderState& state) const {
    auto& s = dynamic_cast<State&>(state);
    const std::size_t B = tokens.size();
    Indices ids = tokens;
    ids.reshape({B, 1});
    Tensor x = target_embedding(ids);  // [B, 1, E]
    if (config.variational) x = concat({x, unsqueeze(s.e, 1)}, 2);
    const nn::GRUOutput r = decoder.forward(x, {}, s.h);
    s.h = r.last;
    return to_vocab(reshape(attend(r.output, s.source), {B, config.hidden}));  // [B, V]
}

void Translator::select_rows(DecoderState& state, const std::vector<std::size_t>& rows) const {
    auto& s = dynamic_cast<State&>(state);
    Indices keep = Indices::from_shape({rows.size()});
    for (std::size_t i = 0; i < rows.size(); ++i) keep(i) = static_cast<std::int64_t>(rows[i]);
    auto take = [&](const Tensor& t) {  // rows of the first axis of [B, ...]
        if (!t.defined()) return t;
        Shape shape = t.shape();
        const std::size_t B = shape[0];
        shape[0] = rows.size();
        return reshape(gather(reshape(t, {B, t.size() / std::max<std::size_t>(1, B)}), keep), shape);
    };
    s.source.states = take(s.source.states);
    s.source.summary = take(s.source.summary);
    s.source.mask = take(s.source.mask);
    s.h = unsqueeze(take(squeeze(s.h, 0)), 0);
    s.e = take(s.e);
}

}  // namespace tapegrad::models::vae
