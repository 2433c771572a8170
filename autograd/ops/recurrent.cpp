// gru_layer and lstm_layer: a whole recurrent layer as one tape entry. The
// equations, their backward pass and the packed layout are in
// kernels/rnn.hpp; the same layers composed from primitive ops are
// reference::gru_layer / lstm_layer (reference.cpp), which the tests hold these to.
#include "autograd/ops/recurrent.hpp"

#include <memory>

#include "autograd/kernels/rnn.hpp"
#include "autograd/tape.hpp"

namespace tapegrad::autograd {

namespace {

void check(bool ok, const char* op, const std::string& what) {
    if (!ok) throw Error(std::string(op) + ": " + what);
}

// Checks the shapes shared by both layers and the lengths; returns the layer's
// sizes and the lengths in full (every sequence T long when none are given).
struct Layout {
    kernels::RnnSizes sizes;
    std::size_t B = 0, T = 0;
    std::vector<std::size_t> lengths;
};
Layout check_layer(const char* op, std::size_t gates, const Tensor& x, const Tensor& h0, const Tensor& w_ih,
                   const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const std::vector<std::size_t>& lengths) {
    check(x.ndim() == 3, op, "input must be [B, T, I], got " + shape_str(x.shape()));
    const std::size_t B = x.shape()[0], T = x.shape()[1], I = x.shape()[2];
    const std::string gate_rows = std::to_string(gates) + "H";
    check(w_hh.ndim() == 2 && w_hh.shape()[0] % gates == 0 && w_hh.shape()[1] * gates == w_hh.shape()[0], op,
          "weight_hh must be [" + gate_rows + ", H], got " + shape_str(w_hh.shape()));
    const std::size_t H = w_hh.shape()[1];
    check(w_ih.shape() == Shape{gates * H, I}, op,
          "weight_ih " + shape_str(w_ih.shape()) + " does not fit input " + shape_str(x.shape()) + " and hidden size " +
              std::to_string(H));
    for (const Tensor* b : {&b_ih, &b_hh})
        check(!b->defined() || b->shape() == Shape{gates * H}, op,
              "bias " + shape_str(b->shape()) + " must be [" + std::to_string(gates * H) + "]");
    check(h0.shape() == Shape{B, H}, op,
          "initial state " + shape_str(h0.shape()) + " must be [" + std::to_string(B) + ", " + std::to_string(H) + "]");
    Layout l{{I, H}, B, T, lengths.empty() ? std::vector<std::size_t>(B, T) : lengths};
    check(l.lengths.size() == B, op, std::to_string(l.lengths.size()) + " lengths for a batch of " + std::to_string(B));
    for (std::size_t b = 0; b < B; ++b)
        check(l.lengths[b] >= 1 && l.lengths[b] <= T, op,
              "length " + std::to_string(l.lengths[b]) + " of sequence " + std::to_string(b) + " is not in [1, " +
                  std::to_string(T) + "]");
    return l;
}

Tensor bias_or_zeros(const Tensor& b, std::size_t n) { return b.defined() ? b : Tensor(zeros({n})); }

// The buffer of input i's gradient, made in g when the rule needs it (else null).
float* grad_of(Step& s, Grads& g, std::size_t i) {
    if (!s.needs_grad(i)) return nullptr;
    g[i] = Array::from_shape(s.input(i).shape());
    return g[i]->data();
}

}  // namespace

// h_t = GRU(x_t, h_{t-1}) for every step (kernels/rnn.hpp)
// d(x, h0, W_ih, W_hh, b_ih, b_hh) by back-propagation through time
Tensor gru_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih_,
                 const Tensor& b_hh_, const std::vector<std::size_t>& lengths, bool reverse) {
    const Layout l = check_layer("gru_layer", 3, x, h0, w_ih, w_hh, b_ih_, b_hh_, lengths);
    const std::size_t H = l.sizes.hidden;
    const Tensor b_ih = bias_or_zeros(b_ih_, 3 * H), b_hh = bias_or_zeros(b_hh_, 3 * H);
    auto layer = std::make_shared<kernels::GruLayer>(l.lengths, l.T, reverse, l.sizes);
    Array out = Array::from_shape({l.B, l.T, H});
    layer->forward(x.value().data(), h0.value().data(), w_ih.value().data(), w_hh.value().data(),
                   b_ih.value().data(), b_hh.value().data(), out.data());
    return record("gru_layer", std::move(out), {x, h0, w_ih, w_hh, b_ih, b_hh}, [layer](Step& s) -> Grads {
        Grads g(s);
        const kernels::RnnGrads d{.x = grad_of(s, g, 0), .h0 = grad_of(s, g, 1), .w_ih = grad_of(s, g, 2),
                                  .w_hh = grad_of(s, g, 3), .b_ih = grad_of(s, g, 4), .b_hh = grad_of(s, g, 5)};
        layer->backward(s.grad.data(), s.input(2).data(), s.input(3).data(), d);
        return g;
    });
}

// (h_t, c_t) = LSTM(x_t, h_{t-1}, c_{t-1}) for every step (kernels/rnn.hpp)
// d(x, h0, c0, W_ih, W_hh, b_ih, b_hh) by back-propagation through time
Tensor lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                  const Tensor& b_ih_, const Tensor& b_hh_, const std::vector<std::size_t>& lengths, bool reverse) {
    const Layout l = check_layer("lstm_layer", 4, x, h0, w_ih, w_hh, b_ih_, b_hh_, lengths);
    const std::size_t H = l.sizes.hidden;
    check(c0.shape() == Shape{l.B, H}, "lstm_layer",
          "initial cell state " + shape_str(c0.shape()) + " must be [" + std::to_string(l.B) + ", " + std::to_string(H) +
              "]");
    const Tensor b_ih = bias_or_zeros(b_ih_, 4 * H), b_hh = bias_or_zeros(b_hh_, 4 * H);
    auto layer = std::make_shared<kernels::LstmLayer>(l.lengths, l.T, reverse, l.sizes);
    Array out = Array::from_shape({l.B, l.T, 2 * H});
    layer->forward(x.value().data(), h0.value().data(), c0.value().data(), w_ih.value().data(), w_hh.value().data(),
                   b_ih.value().data(), b_hh.value().data(), out.data());
    return record("lstm_layer", std::move(out), {x, h0, c0, w_ih, w_hh, b_ih, b_hh}, [layer](Step& s) -> Grads {
        Grads g(s);
        const kernels::RnnGrads d{.x = grad_of(s, g, 0), .h0 = grad_of(s, g, 1), .c0 = grad_of(s, g, 2),
                                  .w_ih = grad_of(s, g, 3), .w_hh = grad_of(s, g, 4), .b_ih = grad_of(s, g, 5),
                                  .b_hh = grad_of(s, g, 6)};
        layer->backward(s.grad.data(), s.input(3).data(), s.input(4).data(), d);
        return g;
    });
}

}  // namespace tapegrad::autograd
