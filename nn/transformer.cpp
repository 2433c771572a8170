// Attention and Transformer layers (transformer.hpp); the equations are in
// docs/transformer.md.
#include "nn/transformer.hpp"

#include <cmath>

#include "autograd/autograd.hpp"
#include "nn/init.hpp"

namespace tapegrad::nn {

using namespace autograd;

// ---------------------------------------------------------------- LayerNorm

LayerNorm::LayerNorm(std::size_t d, float eps_, bool affine) : normalized_shape(d), eps(eps_) {
    if (d == 0) throw Error("LayerNorm: normalized_shape must be positive");
    if (!(eps > 0.0f)) throw Error("LayerNorm: eps " + std::to_string(eps) + " must be positive");
    if (affine) {
        weight = register_parameter("weight", ones({d}));
        bias = register_parameter("bias", zeros({d}));
    }
}

Tensor LayerNorm::forward(const Tensor& x) const {
    if (x.ndim() < 1 || x.shape().back() != normalized_shape)
        throw Error("LayerNorm: input " + shape_str(x.shape()) + " does not end in " + std::to_string(normalized_shape));
    return layer_norm(x, weight, bias, eps);
}

// ---------------------------------------------------------------- Packing

Packing::Packing(const std::vector<std::size_t>& lengths, std::size_t L) : batch(lengths.size()), length(L) {
    std::size_t n = 0;
    for (std::size_t len : lengths) {
        if (len > L)
            throw Error("Packing: a sequence of " + std::to_string(len) + " positions does not fit a padded length of " +
                        std::to_string(L));
        n += len;
    }
    rows = Indices::from_shape({n});
    std::size_t i = 0;
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t t = 0; t < lengths[b]; ++t) rows(i++) = static_cast<std::int64_t>(b * L + t);
    key_padding_mask = Tensor(padding_mask(lengths, L));
}

Tensor Packing::pad(const Tensor& packed) const {
    if (packed.ndim() != 2 || packed.shape()[0] != size())
        throw Error("Packing::pad: expected a packed batch [" + std::to_string(size()) + ", D], got " +
                    shape_str(packed.shape()));
    return put_rows(packed, rows, {batch, length});
}

Tensor Packing::pack(const Tensor& padded) const {
    if (padded.ndim() != 3 || padded.shape()[0] != batch || padded.shape()[1] != length)
        throw Error("Packing::pack: expected a padded batch [" + std::to_string(batch) + ", " + std::to_string(length) +
                    ", D], got " + shape_str(padded.shape()));
    return take_rows(padded, rows);
}

// ---------------------------------------------------------------- MultiheadAttention

namespace {

// Rows [from, to) of a weight, or elements of a bias (undefined stays undefined).
Tensor rows(const Tensor& w, std::size_t from, std::size_t to) {
    return w.defined() ? slice(w, 0, static_cast<long>(from), static_cast<long>(to)) : Tensor();
}

// attn_mask and the padding of the keys [B, Lk] as one additive mask.
Tensor combined_mask(const Tensor& attn_mask, const Tensor& key_padding_mask, std::size_t B, std::size_t Lk) {
    if (!key_padding_mask.defined()) return attn_mask;
    if (key_padding_mask.shape() != Shape{B, Lk})
        throw Error("MultiheadAttention: key_padding_mask " + shape_str(key_padding_mask.shape()) + " must be [" +
                    std::to_string(B) + ", " + std::to_string(Lk) + "]");
    const Tensor padding = reshape(key_padding_mask, {B, 1, 1, Lk});  // over every head and query
    return attn_mask.defined() ? attn_mask + padding : padding;
}

}  // namespace

MultiheadAttention::MultiheadAttention(std::size_t e, std::size_t h, float p, bool bias)
    : embed_dim(e), num_heads(h), dropout(p), out_proj(e, e, bias) {
    if (e == 0 || h == 0 || e % h != 0)
        throw Error("MultiheadAttention: embed_dim " + std::to_string(e) + " must be a positive multiple of num_heads " +
                    std::to_string(h));
    if (!(p >= 0.0f && p < 1.0f)) throw Error("MultiheadAttention: dropout " + std::to_string(p) + " must lie in [0, 1)");
    in_proj_weight = register_parameter("in_proj_weight", zeros({3 * e, e}));
    init::xavier_uniform(in_proj_weight);
    if (bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * e}));
    register_module("out_proj", out_proj);
    if (bias) init::zeros(out_proj.bias);
}

AttentionOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                            const Tensor& attn_mask, const Tensor& key_padding_mask,
                                            bool need_weights) const {
    const std::size_t E = embed_dim;
    for (const Tensor* t : {&query, &key, &value})
        if (t->ndim() != 3 || t->shape()[2] != E)
            throw Error("MultiheadAttention: inputs must be [B, L, " + std::to_string(E) + "], got " + shape_str(t->shape()));
    if (key.shape() != value.shape() || key.shape()[0] != query.shape()[0])
        throw Error("MultiheadAttention: query " + shape_str(query.shape()) + ", key " + shape_str(key.shape()) +
                    " and value " + shape_str(value.shape()) + " do not fit (the same batch; key and value alike)");
    // The projections: one product for q, k and v together in self-attention, one for
    // k and v together when they are the same tensor (cross-attention to a memory).
    // Each of q, k and v is then split into heads, [B, H, L, E/H].
    const std::size_t H = num_heads;
    Tensor q, k, v;
    if (query.node() == key.node() && key.node() == value.node()) {
        const Tensor qkv = linear(query, in_proj_weight, in_proj_bias);  // [B, L, 3E]
        q = split_heads(qkv, H, 0, E), k = split_heads(qkv, H, E, E), v = split_heads(qkv, H, 2 * E, E);
    } else {
        q = split_heads(linear(query, rows(in_proj_weight, 0, E), rows(in_proj_bias, 0, E)), H);
        if (key.node() == value.node()) {
            const Tensor kv = linear(key, rows(in_proj_weight, E, 3 * E), rows(in_proj_bias, E, 3 * E));
            k = split_heads(kv, H, 0, E), v = split_heads(kv, H, E, E);
        } else {
            k = split_heads(linear(key, rows(in_proj_weight, E, 2 * E), rows(in_proj_bias, E, 2 * E)), H);
            v = split_heads(linear(value, rows(in_proj_weight, 2 * E, 3 * E), rows(in_proj_bias, 2 * E, 3 * E)), H);
        }
    }
    AttentionOutput out;
    const Tensor heads = heads_attend(q, k, v, combined_mask(attn_mask, key_padding_mask, key.shape()[0], key.shape()[1]),
                                      need_weights ? &out.weights : nullptr);
    out.output = out_proj(heads);
    return out;
}

Tensor MultiheadAttention::heads_attend(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                        Tensor* weights) const {
    const Attention att = scaled_dot_product_attention(q, k, v, mask, is_training() ? dropout : 0.0f);
    if (weights) *weights = mean(att.weights, 1);  // averaged over the heads
    return merge_heads(att.output);
}

namespace {

void check_packed(const Tensor& x, const Packing& p, std::size_t E, const char* who) {
    if (x.ndim() != 2 || x.shape()[0] != p.size() || x.shape()[1] != E)
        throw Error(std::string("MultiheadAttention::") + who + ": a packed batch must be [" + std::to_string(p.size()) +
                    ", " + std::to_string(E) + "], got " + shape_str(x.shape()));
}

}  // namespace

// The projections on the N real rows; attention on the padded layout, where the
// pads' keys are masked and the pads' queries are dropped by pack(). The pads hold
// zeros instead of forward()'s projected pads, which no real position sees.
Tensor MultiheadAttention::self_attention(const Tensor& x, const Packing& p, const Tensor& attn_mask) const {
    const std::size_t E = embed_dim;
    check_packed(x, p, E, "self_attention");
    const std::size_t H = num_heads;
    const Tensor qkv = p.pad(linear(x, in_proj_weight, in_proj_bias));  // [B, L, 3E]
    const Tensor heads = attention_heads(qkv, qkv, {.heads = H, .width = E, .q = 0, .k = E, .v = 2 * E},
                                         combined_mask(attn_mask, p.key_padding_mask, p.batch, p.length),
                                         is_training() ? dropout : 0.0f);
    return out_proj(p.pack(heads));
}

Tensor MultiheadAttention::cross_attention(const Tensor& x, const Packing& p, const Tensor& memory,
                                           const Tensor& memory_key_padding_mask) const {
    const std::size_t E = embed_dim;
    check_packed(x, p, E, "cross_attention");
    if (memory.ndim() != 3 || memory.shape()[0] != p.batch || memory.shape()[2] != E)
        throw Error("MultiheadAttention::cross_attention: memory must be [" + std::to_string(p.batch) + ", Lm, " +
                    std::to_string(E) + "], got " + shape_str(memory.shape()));
    const std::size_t H = num_heads;
    const Tensor q = p.pad(linear(x, rows(in_proj_weight, 0, E), rows(in_proj_bias, 0, E)));  // [B, L, E]
    const Tensor kv = linear(memory, rows(in_proj_weight, E, 3 * E), rows(in_proj_bias, E, 3 * E));
    const Tensor heads = attention_heads(q, kv, {.heads = H, .width = E, .q = 0, .k = 0, .v = E},
                                         combined_mask(Tensor(), memory_key_padding_mask, p.batch, memory.shape()[1]),
                                         is_training() ? dropout : 0.0f);
    return out_proj(p.pack(heads));
}

void KeyValueCache::select_rows(const Indices& rows) {
    if (!k.defined()) return;
    k = gather(k, rows);
    v = gather(v, rows);
}

Tensor MultiheadAttention::self_attention_step(const Tensor& x, KeyValueCache& cache) const {
    const std::size_t E = embed_dim;
    if (x.ndim() != 3 || x.shape()[1] != 1 || x.shape()[2] != E)
        throw Error("MultiheadAttention::self_attention_step: the next position must be [B, 1, " + std::to_string(E) +
                    "], got " + shape_str(x.shape()));
    const Tensor qkv = linear(x, in_proj_weight, in_proj_bias);  // [B, 1, 3E]
    const Tensor k = split_heads(qkv, num_heads, E, E), v = split_heads(qkv, num_heads, 2 * E, E);
    cache.k = cache.k.defined() ? concat({cache.k, k}, 2) : k;  // [B, H, t + 1, E/H]
    cache.v = cache.v.defined() ? concat({cache.v, v}, 2) : v;
    const Attention att = scaled_dot_product_attention(split_heads(qkv, num_heads, 0, E), cache.k, cache.v);
    return out_proj(merge_heads(att.output));
}

KeyValueCache MultiheadAttention::project_memory(const Tensor& memory) const {
    const std::size_t E = embed_dim;
    const Tensor kv = linear(memory, rows(in_proj_weight, E, 3 * E), rows(in_proj_bias, E, 3 * E));
    return {split_heads(kv, num_heads, 0, E), split_heads(kv, num_heads, E, E)};
}

Tensor MultiheadAttention::attend_to(const Tensor& query, const KeyValueCache& memory, const Tensor& key_padding_mask) const {
    const std::size_t E = embed_dim;
    const Tensor q = linear(query, rows(in_proj_weight, 0, E), rows(in_proj_bias, 0, E));
    Tensor mask;
    if (key_padding_mask.defined())
        mask = reshape(key_padding_mask, {key_padding_mask.shape()[0], 1, 1, key_padding_mask.shape()[1]});
    const Attention att = scaled_dot_product_attention(split_heads(q, num_heads), memory.k, memory.v, mask,
                                                       is_training() ? dropout : 0.0f);
    return out_proj(merge_heads(att.output));
}

// ---------------------------------------------------------------- the layers

namespace {

void check_layer_options(const TransformerLayerOptions& o, const char* who) {
    if (o.d_model == 0 || o.nhead == 0 || o.dim_feedforward == 0)
        throw Error(std::string(who) + ": d_model, nhead and dim_feedforward must be positive");
    if (!(o.dropout >= 0.0f && o.dropout < 1.0f))
        throw Error(std::string(who) + ": dropout " + std::to_string(o.dropout) + " must lie in [0, 1)");
}

Tensor activate(const Tensor& x, Activation a) { return a == Activation::relu ? relu(x) : gelu(x); }

Tensor drop(const Tensor& x, float p, bool training) { return training && p > 0.0f ? autograd::dropout(x, p) : x; }

}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerLayerOptions& o)
    : options((check_layer_options(o, "TransformerEncoderLayer"), o)),
      self_attn(o.d_model, o.nhead, o.dropout),
      linear1(o.d_model, o.dim_feedforward),
      linear2(o.dim_feedforward, o.d_model),
      norm1(o.d_model, o.layer_norm_eps),
      norm2(o.d_model, o.layer_norm_eps) {
    register_module("self_attn", self_attn);
    register_module("linear1", linear1);
    register_module("linear2", linear2);
    register_module("norm1", norm1);
    register_module("norm2", norm2);
}

Tensor TransformerEncoderLayer::feed_forward_block(const Tensor& x) const {
    const Tensor h = drop(activate(linear1(x), options.activation), options.dropout, is_training());
    return drop(linear2(h), options.dropout, is_training());
}

template <class Attend>
Tensor TransformerEncoderLayer::layer(const Tensor& src, const Attend& attend) const {
    auto self_attention_block = [&](const Tensor& x) { return drop(attend(x), options.dropout, is_training()); };
    Tensor x = src;
    if (options.norm_first) {
        x = x + self_attention_block(norm1(x));
        return x + feed_forward_block(norm2(x));
    }
    x = norm1(x + self_attention_block(x));
    return norm2(x + feed_forward_block(x));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& mask, const Tensor& padding) const {
    return layer(src, [&](const Tensor& x) { return self_attn.forward(x, x, x, mask, padding).output; });
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Packing& packing, const Tensor& mask) const {
    return layer(src, [&](const Tensor& x) { return self_attn.self_attention(x, packing, mask); });
}

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerLayerOptions& o)
    : options((check_layer_options(o, "TransformerDecoderLayer"), o)),
      self_attn(o.d_model, o.nhead, o.dropout),
      multihead_attn(o.d_model, o.nhead, o.dropout),
      linear1(o.d_model, o.dim_feedforward),
      linear2(o.dim_feedforward, o.d_model),
      norm1(o.d_model, o.layer_norm_eps),
      norm2(o.d_model, o.layer_norm_eps),
      norm3(o.d_model, o.layer_norm_eps) {
    register_module("self_attn", self_attn);
    register_module("multihead_attn", multihead_attn);
    register_module("linear1", linear1);
    register_module("linear2", linear2);
    register_module("norm1", norm1);
    register_module("norm2", norm2);
    register_module("norm3", norm3);
}

Tensor TransformerDecoderLayer::feed_forward_block(const Tensor& x) const {
    const Tensor h = drop(activate(linear1(x), options.activation), options.dropout, is_training());
    return drop(linear2(h), options.dropout, is_training());
}

template <class Attend, class AttendMemory>
Tensor TransformerDecoderLayer::layer(const Tensor& tgt, const Attend& attend, const AttendMemory& attend_memory) const {
    auto self_attention_block = [&](const Tensor& x) { return drop(attend(x), options.dropout, is_training()); };
    auto cross_attention_block = [&](const Tensor& x) { return drop(attend_memory(x), options.dropout, is_training()); };
    Tensor x = tgt;
    if (options.norm_first) {
        x = x + self_attention_block(norm1(x));
        x = x + cross_attention_block(norm2(x));
        return x + feed_forward_block(norm3(x));
    }
    x = norm1(x + self_attention_block(x));
    x = norm2(x + cross_attention_block(x));
    return norm3(x + feed_forward_block(x));
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                        const Tensor& tgt_padding, const Tensor& memory_padding) const {
    return layer(
        tgt, [&](const Tensor& x) { return self_attn.forward(x, x, x, tgt_mask, tgt_padding).output; },
        [&](const Tensor& x) { return multihead_attn.forward(x, memory, memory, Tensor(), memory_padding).output; });
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Packing& packing, const Tensor& memory,
                                        const Tensor& tgt_mask, const Tensor& memory_padding) const {
    return layer(
        tgt, [&](const Tensor& x) { return self_attn.self_attention(x, packing, tgt_mask); },
        [&](const Tensor& x) { return multihead_attn.cross_attention(x, packing, memory, memory_padding); });
}

Tensor TransformerDecoderLayer::step(const Tensor& x0, DecoderLayerCache& cache, const Tensor& memory_padding) const {
    return layer(
        x0, [&](const Tensor& x) { return self_attn.self_attention_step(x, cache.self); },
        [&](const Tensor& x) { return multihead_attn.attend_to(x, cache.memory, memory_padding); });
}

// ---------------------------------------------------------------- the stacks

namespace {

// Copies layer 0's parameter values into every other layer (PyTorch's deep copies).
template <class Layer>
void copy_first_layer(std::vector<std::unique_ptr<Layer>>& layers) {
    const auto first = layers[0]->named_parameters();
    for (std::size_t l = 1; l < layers.size(); ++l) {
        auto params = layers[l]->named_parameters();
        for (std::size_t i = 0; i < params.size(); ++i) params[i].second.mutable_value() = first[i].second.value();
    }
}

}  // namespace

TransformerEncoder::TransformerEncoder(const TransformerLayerOptions& o, std::size_t n, bool final_norm,
                                       bool independent_init) {
    if (n == 0) throw Error("TransformerEncoder: num_layers must be positive");
    for (std::size_t l = 0; l < n; ++l) {
        layers.push_back(std::make_unique<TransformerEncoderLayer>(o));
        register_module("layers." + std::to_string(l), *layers.back());
    }
    if (!independent_init) copy_first_layer(layers);
    if (final_norm) {
        norm = std::make_unique<LayerNorm>(o.d_model, o.layer_norm_eps);
        register_module("norm", *norm);
    }
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& mask, const Tensor& padding) const {
    Tensor x = src;
    for (const auto& layer : layers) x = layer->forward(x, mask, padding);
    return norm ? norm->forward(x) : x;
}

Tensor TransformerEncoder::forward(const Tensor& src, const Packing& packing, const Tensor& mask) const {
    Tensor x = src;
    for (const auto& layer : layers) x = layer->forward(x, packing, mask);
    return norm ? norm->forward(x) : x;
}

TransformerDecoder::TransformerDecoder(const TransformerLayerOptions& o, std::size_t n, bool final_norm,
                                       bool independent_init) {
    if (n == 0) throw Error("TransformerDecoder: num_layers must be positive");
    for (std::size_t l = 0; l < n; ++l) {
        layers.push_back(std::make_unique<TransformerDecoderLayer>(o));
        register_module("layers." + std::to_string(l), *layers.back());
    }
    if (!independent_init) copy_first_layer(layers);
    if (final_norm) {
        norm = std::make_unique<LayerNorm>(o.d_model, o.layer_norm_eps);
        register_module("norm", *norm);
    }
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                   const Tensor& tgt_padding, const Tensor& memory_padding) const {
    Tensor x = tgt;
    for (const auto& layer : layers) x = layer->forward(x, memory, tgt_mask, tgt_padding, memory_padding);
    return norm ? norm->forward(x) : x;
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Packing& packing, const Tensor& memory,
                                   const Tensor& tgt_mask, const Tensor& memory_padding) const {
    Tensor x = tgt;
    for (const auto& layer : layers) x = layer->forward(x, packing, memory, tgt_mask, memory_padding);
    return norm ? norm->forward(x) : x;
}

std::vector<DecoderLayerCache> TransformerDecoder::start(const Tensor& memory) const {
    std::vector<DecoderLayerCache> caches(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) caches[l].memory = layers[l]->multihead_attn.project_memory(memory);
    return caches;
}

Tensor TransformerDecoder::step(const Tensor& x0, std::vector<DecoderLayerCache>& caches, const Tensor& memory_padding) const {
    if (caches.size() != layers.size())
        throw Error("TransformerDecoder::step: " + std::to_string(caches.size()) + " caches for " +
                    std::to_string(layers.size()) + " layers (make them with start())");
    Tensor x = x0;
    for (std::size_t l = 0; l < layers.size(); ++l) x = layers[l]->step(x, caches[l], memory_padding);
    return norm ? norm->forward(x) : x;
}

Array sinusoidal_positions(std::size_t positions, std::size_t d) {
    Array pe = zeros({positions, d});
    for (std::size_t p = 0; p < positions; ++p)
        for (std::size_t i = 0; 2 * i < d; ++i) {
            const double angle = static_cast<double>(p) / std::pow(10000.0, static_cast<double>(2 * i) / static_cast<double>(d));
            pe(p, 2 * i) = static_cast<float>(std::sin(angle));
            if (2 * i + 1 < d) pe(p, 2 * i + 1) = static_cast<float>(std::cos(angle));
        }
    return pe;
}

}  // namespace tapegrad::nn
