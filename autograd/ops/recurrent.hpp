// Fused recurrent layers: a whole sequence of GRU or LSTM steps as one tape entry
// ("fused": one entry with a hand-written rule for what composes from many ops).
// The equations, back-propagation through time and the packed layout are in
// kernels/rnn.hpp; reference::gru_layer / lstm_layer (reference.hpp) compose the
// same layers step by step from tape ops, and the tests hold the two together.
//
// Variable lengths: sequences are processed as PyTorch's PackedSequence does: sorted
// by length, step s touches only the rows still running, so padding costs nothing
// and never changes a result. Outputs at padded positions are zero.
#pragma once

#include <vector>

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

// One GRU layer, one direction. x [B, T, I], h0 [B, H], w_ih [3H, I], w_hh [3H, H],
// b_ih, b_hh [3H] (either may be undefined: no bias); lengths: B values in [1, T]
// (empty: every sequence has length T). reverse: run each sequence from its last
// real step to its first. -> h_t for every step [B, T, H].
Tensor gru_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                 const Tensor& b_hh, const std::vector<std::size_t>& lengths, bool reverse);

// One LSTM layer, one direction; gates [4H] in PyTorch's order (i, f, g, o).
// -> [B, T, 2H]: h_t in [..., :H] and the cell state c_t in [..., H:] (both zero at
// padded positions); nn::LSTM splits them.
Tensor lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                  const Tensor& b_ih, const Tensor& b_hh, const std::vector<std::size_t>& lengths, bool reverse);

}  // namespace tapegrad::autograd
