// The dedicated ops composed from primitive ops: what each one computes, written
// the slow and obvious way. A dedicated op (one tape entry with a hand-written rule,
// for numerical stability, speed or memory) must agree with its reference here in
// value and gradient; the tests hold each pair together on random shapes and on
// the edge cases. Read these to learn what an op does; read the op for how it is
// made fast. Same signatures and results as the ops they mirror.
#pragma once

#include <vector>

#include "autograd/ops/attention.hpp"
#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/loss.hpp"
#include "autograd/tensor.hpp"

namespace tapegrad::autograd::reference {

// log(sum(exp(a), axis)) = m + log(sum(exp(a - m))), m the (constant) maximum.
Tensor logsumexp(const Tensor& a, int axis, bool keepdims = false);
// exp(a - logsumexp(a))
Tensor softmax(const Tensor& a, int axis = -1);
// a - logsumexp(a)
Tensor log_softmax(const Tensor& a, int axis = -1);
// softmax(a + mask), log_softmax(a + mask)
Tensor softmax(const Tensor& a, int axis, const Tensor& mask);
Tensor log_softmax(const Tensor& a, int axis, const Tensor& mask);
// matmul(a, transpose(b, -2, -1)): a b^T over the last two axes
Tensor matmul_transposed(const Tensor& a, const Tensor& b);
// split_heads and merge_heads (attention.hpp) from slice, reshape and transpose.
Tensor split_heads(const Tensor& x, std::size_t heads, std::size_t from = 0, std::size_t width = 0);
Tensor merge_heads(const Tensor& x);
// merge_heads(scaled_dot_product_attention(the heads of q and kv, split_heads(...), mask, dropout).output)
Tensor attention_heads(const Tensor& q, const Tensor& kv, const HeadRanges& r, const Tensor& mask = {},
                       float dropout = 0.0f);
// (x - mean) / sqrt(var + eps) * weight + bias over the last axis
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
// x Phi(x): 0.5 x (1 + erf(x / sqrt 2)), or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
Tensor gelu(const Tensor& x, Gelu form = Gelu::exact);
// nll_loss(log_softmax(logits))
Tensor cross_entropy(const Tensor& logits, const Indices& targets, Reduction reduction = Reduction::mean,
                     std::int64_t ignore_index = default_ignore_index);
// cross_entropy(linear(x, weight, bias))
Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Indices& targets,
                            Reduction reduction = Reduction::mean, std::int64_t ignore_index = default_ignore_index);
// relu(x) - x t + log(1 + exp(-|x|))
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets,
                                        Reduction reduction = Reduction::mean);

// One GRU step (nn::GRUCell): x [B, I], h [B, H] -> [B, H]; the equations are in kernels/rnn.hpp.
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh);
// One LSTM step (nn::LSTMCell): -> the new h and c, [B, H] each.
struct LstmStep {
    Tensor h, c;
};
LstmStep lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih, const Tensor& w_hh,
                   const Tensor& b_ih, const Tensor& b_hh);
// The cells run step by step over [B, T, I]; padded steps keep the state and output zeros.
Tensor gru_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                 const Tensor& b_hh, const std::vector<std::size_t>& lengths, bool reverse);
Tensor lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                  const Tensor& b_ih, const Tensor& b_hh, const std::vector<std::size_t>& lengths, bool reverse);

}  // namespace tapegrad::autograd::reference
