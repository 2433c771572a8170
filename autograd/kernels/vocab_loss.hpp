// The work of linear_cross_entropy (../ops/loss.cpp), the loss of a language
// model's output layer: for rows x [N, H], a weight W [V, H] and bias b [V],
//   z_n = W x_n + b,   loss_n = logsumexp(z_n) - z[n, t_n]
//   dz_n = g_n (softmax(z_n) - onehot(t_n)),  dx = dz W,  dW = dz^T x,  db = sum_n dz_n
// Rows whose target is `ignore` have loss 0 and dz 0, and skip the exp pass.
//
// The [N, V] logits are a language model's largest buffer. For a loss reduced to
// one number (a mean or a sum), every counted row's gradient has the same weight,
// known in the forward pass, so loss_with_grads() computes the gradients there,
// block by block of rows while each block's logits are in cache, and the logits
// never exist whole; the backward rule then only scales them by the upstream g.
// For per-row losses the logits are kept (logits_and_losses()) and turned into dz
// in place by backward_from_logits() once the per-row g_n is known.
#pragma once

#include <cstddef>
#include <cstdint>

#include "autograd/kernels/loss.hpp"

namespace tapegrad::kernels {

struct VocabLoss {
    const float* x;      // [N, H]
    const float* w;      // [V, H]
    const float* b;      // [V] or nullptr
    const std::int64_t* targets;  // [N]
    std::int64_t ignore;
    std::size_t N, H, V;
};

// Where the gradients go; null: not wanted.
struct VocabLossGrads {
    float* x = nullptr;  // [N, H]
    float* w = nullptr;  // [V, H]
    float* b = nullptr;  // [V]
};

// rows[n] = loss_n, through blocks of rows (no gradients; memory stays bounded).
void losses(const VocabLoss& p, float* rows);

// rows[n] = loss_n, and the gradients of sum_n weight * loss_n over counted rows.
void loss_with_grads(const VocabLoss& p, float weight, float* rows, const VocabLossGrads& d);

// rows[n] = loss_n; z [N, V] = exp(z_n - max z_n) and inv_sum[n] = 1 / sum of it,
// for backward_from_logits (counted rows only).
void logits_and_losses(const VocabLoss& p, float* z, float* rows, float* inv_sum);
// The gradients for per-row upstream gradients g_n, turning z into dz in place.
void backward_from_logits(const VocabLoss& p, float* z, const float* inv_sum, RowGrad g, const VocabLossGrads& d);

}  // namespace tapegrad::kernels
