// Multi-head scaled dot-product attention on heads that stay where the projections
// wrote them: in rows of features, head h of a position being the features
// [h d, (h + 1) d) from a starting column. Per batch b and head h, with Q [Lq, d],
// K and V [Lk, d] those features of b's rows:
//   S = Q K^T * scale + mask,  P = softmax(S) along each row,
//   Pd = P * keep / (1 - p)  (dropout; keep null: Pd = P),  O = Pd V
// and O goes to the same features of the output's rows. The backward pass, from dO:
//   dPd = dO V^T,  dV = Pd^T dO,  dS = (P (dP - rowsum(dP P))) * scale with
//   dP = dPd * keep / (1 - p),  dQ = dS K,  dK = dS^T Q.
// The (b, h) pairs are split over the pool, each one's products and row passes
// run together while its matrices are in cache. Each product is the sgemm call
// batched matmul makes for it, and each row pass the softmax, dropout and scaling
// loops of the composed ops, so the results are theirs to the bit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapegrad::kernels {

// A [B, L, ...] layout of rows: `data` points at head 0's first feature in batch
// 0's first row; rows are `ld` floats apart; a batch has `rows` rows.
template <class T>
struct HeadRows {
    T* data = nullptr;
    std::size_t ld = 0, rows = 0;
    T* head(std::size_t b, std::size_t h, std::size_t d) const { return data + b * rows * ld + h * d; }
};

struct AttentionDims {
    std::size_t batch = 0, heads = 0, d = 0;  // Lq and Lk are the rows of q and of k, v
    float scale = 1.0f;                       // usually 1 / sqrt(d)
    // The additive mask, read at b * stride[0] + h * stride[1] + i * stride[2] + j
    // * stride[3] (a broadcast axis has stride 0); null: none.
    const float* mask = nullptr;
    std::size_t mask_stride[4] = {0, 0, 0, 0};
    // Dropout's mask, [B, H, Lq, Lk] bytes (1 kept), and the kept ones' scale
    // 1 / (1 - p); null: no dropout.
    const std::uint8_t* keep = nullptr;
    float keep_scale = 1.0f;
};

// Writes P [B, H, Lq, Lk] (for the backward pass) and O.
void attention(const AttentionDims& a, HeadRows<const float> q, HeadRows<const float> k, HeadRows<const float> v,
               float* p, HeadRows<float> o);
// Writes dQ, dK, dV (every head's features of every row; nothing else).
void attention_backward(const AttentionDims& a, HeadRows<const float> q, HeadRows<const float> k,
                        HeadRows<const float> v, const float* p, HeadRows<const float> d_o, HeadRows<float> dq,
                        HeadRows<float> dk, HeadRows<float> dv);

}  // namespace tapegrad::kernels
