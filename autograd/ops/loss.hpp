// Losses. Each takes a Reduction as PyTorch does: none keeps one value per
// example, sum adds them, mean averages them (over non-ignored targets for the
// classification losses; a batch where every target is ignored gives 0, not NaN).
#pragma once

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

enum class Reduction { none, mean, sum };

inline constexpr std::int64_t default_ignore_index = -100;

// -log_probs[n, targets[n]]:   log_probs [N, C], targets [N] -> [N] or [].
Tensor nll_loss(const Tensor& log_probs, const Indices& targets, Reduction reduction = Reduction::mean,
                std::int64_t ignore_index = default_ignore_index);

// nll_loss(log_softmax(logits)), fused: one logsumexp per row forward, softmax minus
// one-hot backward, never materialising log-probabilities. logits [N, C], targets [N].
Tensor cross_entropy(const Tensor& logits, const Indices& targets, Reduction reduction = Reduction::mean,
                     std::int64_t ignore_index = default_ignore_index);

// cross_entropy(linear(x, weight, bias), targets), fused: x [N, H], weight [V, H]
// (PyTorch's Linear layout), bias [V] or undefined, targets [N]. The [N, V] logits
// live only inside the op. For a mean or sum the gradients are computed in the
// forward pass, through blocks of at most 8 MiB of logits, and the backward rule
// only scales them by the upstream gradient: a language model's largest buffer
// never exists whole. With Reduction::none the logits are kept and the backward
// turns them into softmax - one-hot in place. Rows whose target is ignore_index
// skip the exp pass. Without gradients (NoGradGuard) the rows go through blocks.
Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Indices& targets,
                            Reduction reduction = Reduction::mean, std::int64_t ignore_index = default_ignore_index);

// -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], written without overflow:
// max(x, 0) - x t + log(1 + e^-|x|). logits and targets have the same shape.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        Reduction reduction = Reduction::mean);

// (a - b)^2, composed from sub, mul and a reduction.
Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::mean);

// Applies a reduction to per-element losses (composed: sum or mean).
Tensor reduce(const Tensor& losses, Reduction reduction);

}  // namespace tapegrad::autograd
