// Scaled dot-product attention (Vaswani et al. 2017, eq. 1) and its masks.
#pragma once

#include <vector>

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

struct Attention {
    Tensor output;   // [..., Lq, dv]
    Tensor weights;  // [..., Lq, Lk]: each query's distribution over the keys (after dropout)
};

// weights = softmax(q k^T / sqrt(d) + mask) over the keys, dropped out with
// probability `dropout` (inverted dropout: the kept ones scaled by 1 / (1 - p)),
// output = weights v. q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv], their batch
// axes broadcast as matmul's; mask additive and broadcast to [..., Lq, Lk]
// (undefined: none). Composed from matmul, transpose and the masked softmax, so it
// needs no backward rule of its own. A query whose every key is masked out gets
// weights 0 and output 0.
Attention scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = {},
                                       float dropout = 0.0f);

// Where attention_heads finds its heads: features [q, q + width) of q's rows, and
// [k, k + width) and [v, v + width) of kv's rows, each range cut into `heads` runs.
struct HeadRanges {
    std::size_t heads = 1, width = 0;
    std::size_t q = 0, k = 0, v = 0;
};

// Multi-head attention on heads left where the projections wrote them, q [B, Lq,
// Fq] and kv [B, Lk, Fkv] (q and kv may be one tensor, its three ranges then
// disjoint): the heads' outputs side by side, [B, Lq, width], that is
//     merge_heads(scaled_dot_product_attention(split_heads(q, heads, r.q, width),
//         split_heads(kv, heads, r.k, width), split_heads(kv, heads, r.v, width), mask, dropout).output)
// (reference::attention_heads) as one tape entry: no copies of the heads, and the
// (batch, head) pairs split over the pool (kernels/attention.hpp), with the same
// results to the bit. mask: a constant, broadcast to [B, heads, Lq, Lk].
Tensor attention_heads(const Tensor& q, const Tensor& kv, const HeadRanges& r, const Tensor& mask = {},
                       float dropout = 0.0f);

// Multi-head attention's layout changes, each one copy. split_heads: features
// [from, from + width) of x [B, L, F] (width 0: to the end), cut into `heads` runs,
// as [B, heads, L, width / heads]. merge_heads: [B, H, L, d] back to [B, L, H d].
// Their references: transpose(reshape(slice(...))) and reshape(transpose(...)).
Tensor split_heads(const Tensor& x, std::size_t heads, std::size_t from = 0, std::size_t width = 0);
Tensor merge_heads(const Tensor& x);

// The additive masks, as constants: 0 where attention is allowed, -inf where not.
// [L, L]: query i sees keys 0..i (a decoder's self-attention).
Array causal_mask(std::size_t L);
// [B, L]: key t of sequence b is seen when t < lengths[b] (PyTorch's
// key_padding_mask, additive; reshape to [B, 1, 1, L] to broadcast it over heads
// and queries).
Array padding_mask(const std::vector<std::size_t>& lengths, std::size_t L);

}  // namespace tapegrad::autograd
