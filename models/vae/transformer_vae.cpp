// The Transformer sentence VAE (transformer_vae.hpp); docs/transformer.md derives it.
#include "models/vae/transformer_vae.hpp"

#include <cmath>

#include "autograd/autograd.hpp"
#include "models/vae/sentence_vae.hpp"
#include "nn/init.hpp"

namespace tapegrad::models::vae {

using namespace autograd;
using data::TextBatch;
using data::Vocabulary;
using nn::dist::Normal;

nlohmann::json to_json(const TransformerVAEConfig& c) {
    return {{"vocab", c.vocab},     {"d_model", c.d_model}, {"heads", c.heads},
            {"ff", c.ff},           {"layers", c.layers},   {"latent", c.latent},
            {"max_positions", c.max_positions},             {"dropout", c.dropout},
            {"word_dropout", c.word_dropout},               {"z_at_inputs", c.z_at_inputs},
            {"variational", c.variational}};
}

TransformerVAEConfig transformer_config_from_json(const nlohmann::json& j) {
    TransformerVAEConfig c;
    c.vocab = j.at("vocab");
    c.d_model = j.at("d_model");
    c.heads = j.at("heads");
    c.ff = j.at("ff");
    c.layers = j.at("layers");
    c.latent = j.at("latent");
    c.max_positions = j.at("max_positions");
    c.dropout = j.value("dropout", 0.1f);
    c.word_dropout = j.value("word_dropout", 0.0f);
    c.z_at_inputs = j.value("z_at_inputs", false);
    c.variational = j.value("variational", true);
    return c;
}

namespace {

nn::TransformerLayerOptions layer_options(const TransformerVAEConfig& c) {
    nn::TransformerLayerOptions o;
    o.d_model = c.d_model;
    o.nhead = c.heads;
    o.dim_feedforward = c.ff;
    o.dropout = c.dropout;
    o.activation = nn::Activation::gelu;
    o.norm_first = true;
    return o;
}

// The real positions of a batch, packed (nn::Packing): their input tokens, their
// positions in the sentence and the sentence they belong to, [N] each.
struct PackedBatch {
    nn::Packing packing;
    Indices tokens, positions, sentences;
    explicit PackedBatch(const TextBatch& b) : packing(b.lengths, b.inputs.shape()[1]) {
        const std::size_t T = packing.length, N = packing.size();
        tokens = positions = sentences = Indices::from_shape({N});
        for (std::size_t i = 0; i < N; ++i) {
            const auto row = static_cast<std::size_t>(packing.rows(i));
            tokens(i) = b.inputs.data()[row];
            positions(i) = static_cast<std::int64_t>(row % T);
            sentences(i) = static_cast<std::int64_t>(row / T);
        }
    }
};

}  // namespace

TransformerVAE::TransformerVAE(const TransformerVAEConfig& c)
    : config(c),
      embedding(c.vocab, c.d_model),
      pos_embedding(c.max_positions, c.d_model),
      encoder(layer_options(c), c.layers),
      decoder(layer_options(c), c.layers),
      hidden2mean(c.d_model, c.latent),
      hidden2logv(c.d_model, c.latent),
      latent2memory(c.latent, c.d_model),
      outputs2vocab(c.d_model, c.vocab) {
    if (c.vocab <= 4) throw Error("TransformerVAE: the vocabulary must hold more than the 4 special tokens");
    if (c.max_positions < 2) throw Error("TransformerVAE: max_positions must be at least 2");
    nn::init::normal(embedding.weight, 0.0f, 1.0f / std::sqrt(static_cast<float>(c.d_model)));
    nn::init::normal(pos_embedding.weight, 0.0f, 0.02f);
    register_module("embedding", embedding);
    register_module("pos_embedding", pos_embedding);
    register_module("encoder", encoder);
    register_module("decoder", decoder);
    register_module("hidden2mean", hidden2mean);
    register_module("hidden2logv", hidden2logv);
    register_module("latent2memory", latent2memory);
    register_module("outputs2vocab", outputs2vocab);
    if (c.z_at_inputs) {
        latent2input = std::make_unique<nn::Linear>(c.latent, c.d_model);
        register_module("latent2input", *latent2input);
    }
}

Tensor TransformerVAE::embed(const Indices& tokens, const Indices& positions) const {
    for (std::size_t i = 0; i < positions.size(); ++i)
        if (static_cast<std::size_t>(positions.data()[i]) >= config.max_positions)
            throw Error("TransformerVAE: position " + std::to_string(positions.data()[i]) + " is past the " +
                        std::to_string(config.max_positions) + " learned positions (--max-positions)");
    const Tensor x = embedding(tokens) + pos_embedding(positions);
    return is_training() && config.dropout > 0.0f ? dropout(x, config.dropout) : x;
}

Tensor TransformerVAE::pooled(const TextBatch& b) const {
    const PackedBatch p(b);
    autograd::PackedRows packed;  // dropout's draws follow the tokens (autograd::RowSlice)
    const Tensor h = encoder.forward(embed(p.tokens, p.positions), p.packing);  // [N, D]
    Array lengths = Array::from_shape({b.size(), std::size_t{1}});
    for (std::size_t i = 0; i < b.size(); ++i) lengths(i, 0) = static_cast<float>(b.lengths[i]);
    return put_rows(h, p.sentences, b.size()) / Tensor(lengths);  // each sentence's rows summed: [B, D]
}

Normal TransformerVAE::posterior(const Batch& batch) const {
    const Tensor p = pooled(batch.text);
    return Normal::from_logvar(hidden2mean(p), hidden2logv(p));
}

Tensor TransformerVAE::decoder_input(const Indices& tokens, const Indices& positions, const Tensor& z) const {
    Indices ids = tokens;
    if (is_training() && config.word_dropout > 0.0f)
        ids = nn::word_dropout(tokens, config.word_dropout, Vocabulary::unk, {Vocabulary::sos, Vocabulary::pad});
    const Tensor x = embed(ids, positions);
    return latent2input ? x + (*latent2input)(z) : x;  // z beside every position
}

Tensor TransformerVAE::decoder_hidden(const TextBatch& b, const Tensor& z) const {
    const PackedBatch p(b);
    autograd::PackedRows packed;
    const Tensor memory = unsqueeze(latent2memory(z), 1);  // [B, 1, D]: one slot
    const Tensor z_rows = latent2input ? gather(z, p.sentences) : Tensor();  // [N, latent]
    return decoder.forward(decoder_input(p.tokens, p.positions, z_rows), p.packing, memory,
                           Tensor(causal_mask(p.packing.length)));  // [N, D], the rows of b.real_rows()
}

Tensor TransformerVAE::token_nll(const TextBatch& b, const Tensor& z) const {
    return linear_cross_entropy(decoder_hidden(b, z), outputs2vocab.weight, outputs2vocab.bias, b.real_targets(),
                                Reduction::none);
}

Tensor TransformerVAE::neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return per_sentence_sums(token_nll(batch.text, z), batch.text);
}

Tensor TransformerVAE::total_neg_log_likelihood(const Batch& batch, const Tensor& z) const {
    return linear_cross_entropy(decoder_hidden(batch.text, z), outputs2vocab.weight, outputs2vocab.bias,
                                batch.text.real_targets(), Reduction::sum);
}

// ---------------------------------------------------------------- generation

// The decoder's caches, the position to decode next, and z.
struct TransformerVAE::Cache : DecoderState {
    std::vector<nn::DecoderLayerCache> layers;
    std::size_t position = 0;
    Tensor z;
};

std::unique_ptr<SequenceGenerator::DecoderState> TransformerVAE::start(const Tensor& z, const Batch&) const {
    auto c = std::make_unique<Cache>();
    c->layers = decoder.start(unsqueeze(latent2memory(z), 1));
    c->z = z;
    return c;
}

Tensor TransformerVAE::step(const Indices& tokens, DecoderState& state) const {
    auto& c = dynamic_cast<Cache&>(state);
    Indices ids = tokens;
    ids.reshape({tokens.size(), std::size_t{1}});
    Indices position = Indices::from_shape({std::size_t{1}});
    position(0) = static_cast<std::int64_t>(c.position);
    const Tensor z = latent2input ? unsqueeze(c.z, 1) : Tensor();  // [B, 1, latent]
    const Tensor out = decoder.step(decoder_input(ids, position, z), c.layers);  // [B, 1, D]
    ++c.position;
    return outputs2vocab(squeeze(out, 1));  // [B, V]
}

void TransformerVAE::select_rows(DecoderState& state, const std::vector<std::size_t>& rows) const {
    auto& c = dynamic_cast<Cache&>(state);
    Indices keep = Indices::from_shape({rows.size()});
    for (std::size_t i = 0; i < rows.size(); ++i) keep(i) = static_cast<std::int64_t>(rows[i]);
    for (auto& layer : c.layers) {
        layer.self.select_rows(keep);
        layer.memory.select_rows(keep);
    }
    c.z = gather(c.z, keep);
}

}  // namespace tapegrad::models::vae
