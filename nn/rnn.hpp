// Recurrent layers: GRUCell / LSTMCell (one step, composed from tape ops) and
// GRU / LSTM (whole sequences: multi-layer, bidirectional, inter-layer dropout,
// an initial state, variable lengths). Batch-first throughout: inputs [B, T, I].
// Gate order and parameter names follow PyTorch (GRU: r, z, n; LSTM: i, f, g, o;
// weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse), so PyTorch
// weights load unchanged. Equations: docs/nn.md.
#pragma once

#include <memory>
#include <vector>

#include "nn/module.hpp"

namespace tapegrad::nn {

// GRU step (Cho et al. 2014, in PyTorch's form):
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h
class GRUCell : public Module {
public:
    GRUCell(std::size_t input_size, std::size_t hidden_size, bool bias = true);
    Tensor forward(const Tensor& x, const Tensor& h) const;  // [B, I], [B, H] -> [B, H]
    std::size_t input_size, hidden_size;
    Tensor weight_ih, weight_hh;  // [3H, I], [3H, H]
    Tensor bias_ih, bias_hh;      // [3H]
};

struct LSTMState {
    Tensor h, c;  // [B, H] each
};

// LSTM step (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
// 2000; PyTorch's form):
//   i, f, o = sigmoid(W_i* x + b_i* + W_h* h + b_h*),  g = tanh(W_ig x + b_ig + W_hg h + b_hg)
//   c' = f * c + i * g,   h' = o * tanh(c')
class LSTMCell : public Module {
public:
    LSTMCell(std::size_t input_size, std::size_t hidden_size, bool bias = true);
    LSTMState forward(const Tensor& x, const LSTMState& state) const;  // [B, I] -> [B, H] each
    std::size_t input_size, hidden_size;
    Tensor weight_ih, weight_hh;  // [4H, I], [4H, H]
    Tensor bias_ih, bias_hh;      // [4H]
};

struct RNNOptions {
    std::size_t input_size = 0;
    std::size_t hidden_size = 0;
    std::size_t num_layers = 1;
    bool bias = true;
    bool bidirectional = false;
    float dropout = 0.0f;  // on the outputs of every layer but the last, in training mode
};

struct GRUOutput {
    Tensor output;  // [B, T, D*H], the last layer's states (directions side by side), zero at padding
    Tensor last;    // [L*D, B, H], each layer's and direction's final state (at the true length)
};

struct LSTMOutput {
    Tensor output;  // [B, T, D*H]
    Tensor last_h;  // [L*D, B, H]
    Tensor last_c;  // [L*D, B, H]
};

// The weights of one layer in one direction.
struct RNNWeights {
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

// Shared by GRU and LSTM: options, parameters and their registration.
class RNNBase : public Module {
public:
    RNNOptions options;
    std::vector<RNNWeights> weights;  // index: layer * directions + direction
    // true: one fused tape entry per layer and direction (autograd::gru_layer /
    // lstm_layer). false: their references, step by step with the composed cell
    // equations (autograd::reference::gru_layer / lstm_layer).
    bool fused = true;
    std::size_t directions() const { return options.bidirectional ? 2 : 1; }

protected:
    RNNBase(const RNNOptions& o, std::size_t gates, const char* kind);
};

class GRU : public RNNBase {
public:
    explicit GRU(const RNNOptions& options);
    // x [B, T, I]; lengths: B true lengths in [1, T] (empty: all T); h0 [L*D, B, H] (undefined: zeros).
    GRUOutput forward(const Tensor& x, const std::vector<std::size_t>& lengths = {}, const Tensor& h0 = {}) const;
};

class LSTM : public RNNBase {
public:
    explicit LSTM(const RNNOptions& options);
    LSTMOutput forward(const Tensor& x, const std::vector<std::size_t>& lengths = {}, const Tensor& h0 = {},
                       const Tensor& c0 = {}) const;
};

}  // namespace tapegrad::nn
