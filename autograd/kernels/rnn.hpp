// Whole GRU and LSTM layers (one direction) over a batch of variable-length
// sequences, on plain float buffers: the ops gru_layer / lstm_layer
// (../ops/recurrent.cpp) call these. One GEMM computes the input projections of
// every step, one GEMM per step the hidden projections, and the backward pass runs
// the steps in reverse (back-propagation through time), ending with one GEMM per
// weight gradient.
//
// GRU (Cho et al. 2014, in PyTorch's form; gate order r, z, n):
//   gi = W_ih x_t + b_ih,  gh = W_hh h_{t-1} + b_hh           (each [3H]: r, z, n parts)
//   r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r * gh_n)
//   h_t = (1 - z) * n + z * h_{t-1}
// Its backward, given dh (from the output at t and from step t + 1):
//   dn = dh (1 - z)            dz = dh (h_{t-1} - n)         dh_{t-1} = dh z + dgh W_hh
//   dan = dn (1 - n^2)         dgi_n = dan                   dgh_n = dan r
//   dr = dan gh_n              dgi_r = dgh_r = dr r (1 - r)  dgi_z = dgh_z = dz z (1 - z)
//
// LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000,
// in PyTorch's form; gate order i, f, g, o):
//   a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh                  ([4H])
//   i, f, o = sigmoid(a_i, a_f, a_o),  g = tanh(a_g)
//   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
// Its backward, given dh and dc (each from the output at t and from step t + 1):
//   dc' = dc + dh o (1 - tanh^2 c_t)     da_o = dh tanh(c_t) o (1 - o)
//   da_i = dc' g i (1 - i)    da_f = dc' c_{t-1} f (1 - f)    da_g = dc' i (1 - g^2)
//   dc_{t-1} = dc' f          dh_{t-1} = da W_hh
//
// Both, summed over all steps: dW_ih = da^T X, dW_hh = da^T H_prev, db = column
// sums of da (the input and hidden parts of a GRU's da differ, an LSTM's agree),
// dX = da W_ih.
//
// Variable lengths are handled as PyTorch's PackedSequence does: the sequences
// sorted by length, step s touches only the rows still running, so padding costs
// nothing and never changes a result. Outputs at padded positions are zero.
#pragma once

#include <cstddef>
#include <vector>

#include "autograd/kernels/memory.hpp"

namespace tapegrad::kernels {

// The packed layout (as PyTorch's PackedSequence): sequences sorted by length,
// longest first; step s holds rows 0 .. batch[s] - 1 of the sorted batch, stored
// at packed rows offset[s] ... Since the running rows of a step are a prefix of
// the previous step's, the state of step s - 1 for the rows of step s is simply
// the first batch[s] rows of step s - 1.
struct Packing {
    // lengths: B values in [1, T] (checked by the caller).
    Packing(const std::vector<std::size_t>& lengths, std::size_t T, bool reverse);

    std::size_t B = 0, T = 0, rows = 0;
    std::vector<std::size_t> length, order, batch, offset;
    bool reverse = false;

    std::size_t steps() const { return batch.size(); }
    // Position in the padded [B, T] layout of packed row r of step s.
    std::size_t position(std::size_t s, std::size_t r) const;
    // [B, T, D] -> [rows, D]
    void pack(const float* src, float* dst, std::size_t D) const;
    // [rows, D] -> the padded layout: row (b, t) at dst + (b T + t) stride + column
    void unpack(const float* src, float* dst, std::size_t D, std::size_t stride, std::size_t column) const;
    // [B, D] rows, batch order -> sorted order and back.
    void sort_rows(const float* src, float* dst, std::size_t D) const;
    void unsort_rows(const float* src, float* dst, std::size_t D) const;
};

// The sizes of a layer: input [B, T, I], hidden size H.
struct RnnSizes {
    std::size_t input = 0, hidden = 0;
};

// Where a layer's backward pass writes its gradients; a null pointer: not wanted.
struct RnnGrads {
    float* x = nullptr;     // [B, T, I]
    float* h0 = nullptr;    // [B, H]
    float* c0 = nullptr;    // [B, H] (LSTM)
    float* w_ih = nullptr;  // [G, I]
    float* w_hh = nullptr;  // [G, H]
    float* b_ih = nullptr;  // [G]
    float* b_hh = nullptr;  // [G]
};

// One GRU layer. forward() keeps what backward() needs; each runs once.
class GruLayer {
public:
    GruLayer(const std::vector<std::size_t>& lengths, std::size_t T, bool reverse, RnnSizes sizes);
    // x [B, T, I], h0 [B, H], w_ih [3H, I], w_hh [3H, H], b_ih, b_hh [3H] -> out [B, T, H]
    void forward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* b_ih,
                 const float* b_hh, float* out);
    // dout [B, T, H]; the same weights as forward()
    void backward(const float* dout, const float* w_ih, const float* w_hh, const RnnGrads& d) const;

private:
    Packing pack_;
    RnnSizes sizes_;
    Buffer x_;      // [rows, I] packed inputs
    Buffer hprev_;  // [rows, H] the state each packed row started from
    Buffer gates_;  // [rows, 4H]: r, z, n and gh_n of each row
};

// One LSTM layer. Its output [B, T, 2H] holds h_t in [..., :H] and c_t in [..., H:].
class LstmLayer {
public:
    LstmLayer(const std::vector<std::size_t>& lengths, std::size_t T, bool reverse, RnnSizes sizes);
    // x [B, T, I], h0, c0 [B, H], w_ih [4H, I], w_hh [4H, H], b_ih, b_hh [4H] -> out [B, T, 2H]
    void forward(const float* x, const float* h0, const float* c0, const float* w_ih, const float* w_hh,
                 const float* b_ih, const float* b_hh, float* out);
    // dout [B, T, 2H]; the same weights as forward()
    void backward(const float* dout, const float* w_ih, const float* w_hh, const RnnGrads& d) const;

private:
    Packing pack_;
    RnnSizes sizes_;
    Buffer x_;      // [rows, I] packed inputs
    Buffer hprev_;  // [rows, H]
    Buffer cprev_;  // [rows, H]
    Buffer gates_;  // [rows, 4H]: i, f, g, o activated
    Buffer tanh_c_; // [rows, H]
};

}  // namespace tapegrad::kernels
