// Attention and Transformer layers (Vaswani et al. 2017), batch-first, with
// PyTorch's parameter names, layouts, defaults and order, so that a state_dict of
// nn.MultiheadAttention, nn.TransformerEncoderLayer / DecoderLayer or their stacks
// maps one to one onto these modules' named_parameters().
//
// Masks are additive float tensors, as PyTorch's float masks: 0 where attention
// is allowed, -inf where not (autograd::causal_mask, autograd::padding_mask build
// them). `attn_mask` is [Lq, Lk] (or anything that broadcasts to [B, H, Lq, Lk]);
// `key_padding_mask` is [B, Lk]. Where PyTorch takes a bool mask (True = ignore),
// pass padding_mask(lengths, L).
// Read next: docs/transformer.md.
#pragma once

#include <memory>
#include <vector>

#include "nn/layers.hpp"
#include "nn/module.hpp"

namespace tapegrad::nn {

// y = (x - mean) / sqrt(var + eps) * weight + bias over the last axis (weight 1,
// bias 0 at first). Without elementwise_affine, no parameters.
class LayerNorm : public Module {
public:
    explicit LayerNorm(std::size_t normalized_shape, float eps = 1e-5f, bool elementwise_affine = true);
    Tensor forward(const Tensor& x) const;  // [..., D] -> [..., D]
    Tensor operator()(const Tensor& x) const { return forward(x); }
    std::size_t normalized_shape;
    float eps;
    Tensor weight, bias;  // [D] each
};

// A batch of B sequences of different lengths, padded to L positions, computed at
// its real positions only. A packed tensor [N, D] holds them in order (sequence 0's
// positions, then sequence 1's, ...; N = the sum of the lengths), so the
// position-wise parts of a layer (projections, feed-forward, layer norm, dropout)
// cost N rows instead of B * L. Only attention, which mixes positions, works on
// the padded layout, between pad() and pack(). A batch of PTB sentences is about
// half padding: this halves a Transformer VAE's products.
struct Packing {
    Packing(const std::vector<std::size_t>& lengths, std::size_t padded_length);
    std::size_t batch, length;      // B, L
    Indices rows;                   // [N]: packed row i is row rows[i] = b * L + t of the padded [B * L, D]
    Tensor key_padding_mask;        // [B, L]: 0 at the real positions, -inf at the pads
    std::size_t size() const { return rows.size(); }
    Tensor pad(const Tensor& packed) const;   // [N, D] -> [B, L, D], zeros at the pads
    Tensor pack(const Tensor& padded) const;  // [B, L, D] -> [N, D]
};

struct AttentionOutput {
    Tensor output;   // [B, Lq, E]
    Tensor weights;  // [B, Lq, Lk], averaged over the heads (only with need_weights)
};

// The keys and values of the positions attended to so far, per head, for decoding
// one position at a time: [B, H, t, E/H] each (undefined before the first step).
struct KeyValueCache {
    Tensor k, v;
    std::size_t length() const { return k.defined() ? k.shape()[2] : 0; }
    // Keeps rows `rows` of the batch, in that order (beam search).
    void select_rows(const Indices& rows);
};

// Multi-head attention: q, k, v = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v,
// split into heads of E / H features; each head attends (scaled dot product, dropout
// on the weights in training mode); the heads side by side go through out_proj.
// Init as PyTorch: in_proj_weight Xavier-uniform, both biases 0.
class MultiheadAttention : public Module {
public:
    MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, float dropout = 0.0f, bool bias = true);
    // query [B, Lq, E], key and value [B, Lk, E] (the same tensor for self-attention).
    AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask = {},
                            const Tensor& key_padding_mask = {}, bool need_weights = false) const;

    // The same on a packed batch x [N, E] (Packing): self-attention, the pads masked
    // as keys (attn_mask as above, [L, L]) ...
    Tensor self_attention(const Tensor& x, const Packing& packing, const Tensor& attn_mask = {}) const;
    // ... and cross-attention to a padded memory [B, Lm, E]. Both give forward()'s
    // numbers at the real positions, [N, E].
    Tensor cross_attention(const Tensor& x, const Packing& packing, const Tensor& memory,
                           const Tensor& memory_key_padding_mask = {}) const;

    // Decoding one position at a time. Self-attention: x [B, 1, E] is the next
    // position; its key and value join `cache`, and it attends to every position so
    // far (causal by construction). The same numbers as forward() on the whole
    // prefix with a causal mask, at the cost of one position.
    Tensor self_attention_step(const Tensor& x, KeyValueCache& cache) const;
    // Cross-attention to a fixed memory: its keys and values, projected once ...
    KeyValueCache project_memory(const Tensor& memory) const;
    // ... and attended to by queries [B, Lq, E] (a padding mask as in forward()).
    Tensor attend_to(const Tensor& query, const KeyValueCache& memory, const Tensor& key_padding_mask = {}) const;

    std::size_t embed_dim, num_heads;
    float dropout;
    Tensor in_proj_weight;  // [3E, E]: the rows of W_q, then W_k, then W_v
    Tensor in_proj_bias;    // [3E]; undefined without bias
    Linear out_proj;        // [E, E]

private:
    // The heads of projected q [B, H, Lq, E/H], k and v [B, H, Lk, E/H] attend under
    // one additive mask; the result has its heads side by side again, [B, Lq, E].
    Tensor heads_attend(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                        Tensor* weights = nullptr) const;
};

enum class Activation { relu, gelu };

struct TransformerLayerOptions {
    std::size_t d_model = 512;
    std::size_t nhead = 8;
    std::size_t dim_feedforward = 2048;
    float dropout = 0.1f;
    Activation activation = Activation::relu;
    float layer_norm_eps = 1e-5f;
    bool norm_first = false;  // pre-LN (true) or post-LN (false, PyTorch's default)
};

// Self-attention, then a feed-forward block linear2(dropout(act(linear1(x)))), each
// with dropout and a residual connection:
//   post-LN: x = norm1(x + SA(x));  x = norm2(x + FF(x))
//   pre-LN:  x = x + SA(norm1(x));  x = x + FF(norm2(x))
class TransformerEncoderLayer : public Module {
public:
    explicit TransformerEncoderLayer(const TransformerLayerOptions& options);
    Tensor forward(const Tensor& src, const Tensor& src_mask = {}, const Tensor& src_key_padding_mask = {}) const;
    // A packed batch src [N, D]: the same numbers at the real positions.
    Tensor forward(const Tensor& src, const Packing& packing, const Tensor& src_mask = {}) const;

    TransformerLayerOptions options;
    MultiheadAttention self_attn;
    Linear linear1, linear2;
    LayerNorm norm1, norm2;

private:
    // The residual blocks around `attend`, the self-attention of the padded or the packed batch.
    template <class Attend>
    Tensor layer(const Tensor& src, const Attend& attend) const;
    Tensor feed_forward_block(const Tensor& x) const;
};

// Self-attention, cross-attention to `memory`, then the feed-forward block:
//   post-LN: x = norm1(x + SA(x));  x = norm2(x + CA(x, memory));  x = norm3(x + FF(x))
//   pre-LN:  x = x + SA(norm1(x));  x = x + CA(norm2(x), memory);  x = x + FF(norm3(x))
// What a decoder layer keeps between positions when decoding one at a time: its
// self-attention's keys and values so far, and the memory's, projected once.
struct DecoderLayerCache {
    KeyValueCache self, memory;
};

class TransformerDecoderLayer : public Module {
public:
    explicit TransformerDecoderLayer(const TransformerLayerOptions& options);
    Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {},
                   const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {}) const;
    // A packed batch tgt [N, D] and a padded memory [B, Lm, D]: the same numbers at
    // the real positions.
    Tensor forward(const Tensor& tgt, const Packing& packing, const Tensor& memory, const Tensor& tgt_mask = {},
                   const Tensor& memory_key_padding_mask = {}) const;
    // One position x [B, 1, D] (evaluation mode: no dropout); cache.memory must hold
    // multihead_attn.project_memory(memory).
    Tensor step(const Tensor& x, DecoderLayerCache& cache, const Tensor& memory_key_padding_mask = {}) const;

    TransformerLayerOptions options;
    MultiheadAttention self_attn, multihead_attn;
    Linear linear1, linear2;
    LayerNorm norm1, norm2, norm3;

private:
    // The residual blocks around `attend` and `attend_memory`, the self- and
    // cross-attention of the padded batch, the packed batch or the next position.
    template <class Attend, class AttendMemory>
    Tensor layer(const Tensor& tgt, const Attend& attend, const AttendMemory& attend_memory) const;
    Tensor feed_forward_block(const Tensor& x) const;
};

// num_layers encoder layers applied in order ("layers.0", "layers.1", ...), then an
// optional final LayerNorm ("norm"). As PyTorch, which deep-copies one layer, every
// layer starts from the same weights unless independent_init is asked for.
class TransformerEncoder : public Module {
public:
    TransformerEncoder(const TransformerLayerOptions& layer, std::size_t num_layers, bool final_norm = true,
                       bool independent_init = false);
    Tensor forward(const Tensor& src, const Tensor& mask = {}, const Tensor& src_key_padding_mask = {}) const;
    Tensor forward(const Tensor& src, const Packing& packing, const Tensor& mask = {}) const;  // packed [N, D]
    std::vector<std::unique_ptr<TransformerEncoderLayer>> layers;
    std::unique_ptr<LayerNorm> norm;  // null without final_norm
};

class TransformerDecoder : public Module {
public:
    TransformerDecoder(const TransformerLayerOptions& layer, std::size_t num_layers, bool final_norm = true,
                       bool independent_init = false);
    Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {},
                   const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {}) const;
    Tensor forward(const Tensor& tgt, const Packing& packing, const Tensor& memory, const Tensor& tgt_mask = {},
                   const Tensor& memory_key_padding_mask = {}) const;  // packed [N, D]
    // Decoding one position at a time (the key/value caches of docs/transformer.md):
    // start() projects the memory once per layer; step() takes the next position
    // [B, 1, D] and gives its output [B, 1, D], the same as forward() on the whole
    // prefix with a causal mask gives at the last position.
    std::vector<DecoderLayerCache> start(const Tensor& memory) const;
    Tensor step(const Tensor& x, std::vector<DecoderLayerCache>& caches, const Tensor& memory_key_padding_mask = {}) const;
    std::vector<std::unique_ptr<TransformerDecoderLayer>> layers;
    std::unique_ptr<LayerNorm> norm;
};

// The sinusoidal position table of Vaswani et al. 2017, sec. 3.5, [positions, d]:
// PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)).
Array sinusoidal_positions(std::size_t positions, std::size_t d);

}  // namespace tapegrad::nn
