#include "nn/rnn.hpp"

#include <cmath>

#include "autograd/autograd.hpp"

namespace tapegrad::nn {

using namespace autograd;

namespace {

// PyTorch's default for every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H)).
Array rnn_init(const Shape& shape, std::size_t hidden) {
    const float k = 1.0f / std::sqrt(static_cast<float>(hidden));
    return uniform(shape, -k, k);
}

// Gate k of a [B, G*H] projection.
Tensor gate(const Tensor& a, std::size_t k, std::size_t H) {
    return slice(a, 1, static_cast<long>(k * H), static_cast<long>((k + 1) * H));
}

void check_input(const char* what, const Tensor& x, const RNNOptions& o, const std::vector<std::size_t>& lengths) {
    if (x.ndim() != 3 || x.value().shape()[2] != o.input_size)
        throw Error(std::string(what) + ": input must be [B, T, " + std::to_string(o.input_size) + "], got " +
                    shape_str(x.value().shape()));
    const std::size_t B = x.value().shape()[0], T = x.value().shape()[1];
    if (!lengths.empty() && lengths.size() != B)
        throw Error(std::string(what) + ": " + std::to_string(lengths.size()) + " lengths for a batch of " + std::to_string(B));
    for (std::size_t b = 0; b < lengths.size(); ++b)
        if (lengths[b] < 1 || lengths[b] > T)
            throw Error(std::string(what) + ": length " + std::to_string(lengths[b]) + " of sequence " + std::to_string(b) +
                        " is not in [1, " + std::to_string(T) + "]");
}

// The initial state of layer-direction k: h0[k], or zeros.
Tensor initial(const Tensor& h0, std::size_t k, std::size_t B, std::size_t H, std::size_t count, const char* what) {
    if (!h0.defined()) return Tensor(zeros({B, H}));
    if (h0.shape() != Shape{count, B, H})
        throw Error(std::string(what) + ": initial state " + shape_str(h0.value().shape()) + " must be [" +
                    std::to_string(count) + ", " + std::to_string(B) + ", " + std::to_string(H) + "]");
    return select(h0, 0, static_cast<long>(k));
}

// Picks each sequence's final state from a layer's outputs [B, T, H]: the step at
// its true length (forward) or the first step (reverse).
Tensor final_states(const Tensor& out, const std::vector<std::size_t>& lengths, bool reverse) {
    const std::size_t B = out.value().shape()[0], T = out.value().shape()[1];
    Indices rows = xt::zeros<std::int64_t>({B});
    for (std::size_t b = 0; b < B; ++b) {
        const std::size_t len = lengths.empty() ? T : lengths[b];
        rows(b) = static_cast<std::int64_t>(b * T + (reverse ? 0 : len - 1));
    }
    return take_rows(out, rows);
}

// 1 where step t is inside sequence b, as [B, 1] for the composed reference path.
Tensor step_mask(const std::vector<std::size_t>& lengths, std::size_t B, std::size_t t) {
    Array m = Array::from_shape({B, 1});
    for (std::size_t b = 0; b < B; ++b) m(b, 0) = (lengths.empty() || t < lengths[b]) ? 1.0f : 0.0f;
    return Tensor(m);
}

// Runs a cell step by step over [B, T, I] (the reference path). Padded steps keep
// the state and output zeros; in reverse the state stays at its initial value over
// the padding at the end, so each sequence effectively starts at its last real step.
template <class StepFn, class State>
Tensor run_composed(const Tensor& x, const std::vector<std::size_t>& lengths, bool reverse, State& state, StepFn step) {
    const std::size_t B = x.value().shape()[0], T = x.value().shape()[1];
    std::vector<Tensor> outs(T);
    for (std::size_t k = 0; k < T; ++k) {
        const std::size_t t = reverse ? T - 1 - k : k;
        const Tensor m = step_mask(lengths, B, t);
        Tensor h = step(select(x, 1, static_cast<long>(t)), state, m);
        outs[t] = h * m;
    }
    return stack(outs, 1);
}

}  // namespace

GRUCell::GRUCell(std::size_t in, std::size_t hidden, bool bias) : input_size(in), hidden_size(hidden) {
    weight_ih = register_parameter("weight_ih", rnn_init({3 * hidden, in}, hidden));
    weight_hh = register_parameter("weight_hh", rnn_init({3 * hidden, hidden}, hidden));
    if (bias) {
        bias_ih = register_parameter("bias_ih", rnn_init({3 * hidden}, hidden));
        bias_hh = register_parameter("bias_hh", rnn_init({3 * hidden}, hidden));
    }
}

namespace {
Tensor gru_step(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh, std::size_t H) {
    const Tensor gi = linear(x, w_ih, b_ih);  // [B, 3H]
    const Tensor gh = linear(h, w_hh, b_hh);  // [B, 3H]
    const Tensor r = sigmoid(gate(gi, 0, H) + gate(gh, 0, H));
    const Tensor z = sigmoid(gate(gi, 1, H) + gate(gh, 1, H));
    const Tensor n = tanh(gate(gi, 2, H) + r * gate(gh, 2, H));
    return (1.0f - z) * n + z * h;
}

LSTMState lstm_step(const Tensor& x, const LSTMState& s, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                    const Tensor& b_hh, std::size_t H) {
    const Tensor a = linear(x, w_ih, b_ih) + linear(s.h, w_hh, b_hh);  // [B, 4H]
    const Tensor i = sigmoid(gate(a, 0, H)), f = sigmoid(gate(a, 1, H));
    const Tensor g = tanh(gate(a, 2, H)), o = sigmoid(gate(a, 3, H));
    const Tensor c = f * s.c + i * g;
    return {o * tanh(c), c};
}
}  // namespace

Tensor GRUCell::forward(const Tensor& x, const Tensor& h) const {
    return gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh, hidden_size);
}

LSTMCell::LSTMCell(std::size_t in, std::size_t hidden, bool bias) : input_size(in), hidden_size(hidden) {
    weight_ih = register_parameter("weight_ih", rnn_init({4 * hidden, in}, hidden));
    weight_hh = register_parameter("weight_hh", rnn_init({4 * hidden, hidden}, hidden));
    if (bias) {
        bias_ih = register_parameter("bias_ih", rnn_init({4 * hidden}, hidden));
        bias_hh = register_parameter("bias_hh", rnn_init({4 * hidden}, hidden));
    }
}

LSTMState LSTMCell::forward(const Tensor& x, const LSTMState& s) const {
    return lstm_step(x, s, weight_ih, weight_hh, bias_ih, bias_hh, hidden_size);
}

RNNBase::RNNBase(const RNNOptions& o, std::size_t gates, const char* kind) : options(o) {
    if (o.input_size == 0 || o.hidden_size == 0 || o.num_layers == 0)
        throw Error(std::string(kind) + ": input_size, hidden_size and num_layers must be positive");
    if (!(o.dropout >= 0.0f && o.dropout < 1.0f))
        throw Error(std::string(kind) + ": dropout " + std::to_string(o.dropout) + " must lie in [0, 1)");
    const std::size_t H = o.hidden_size, D = directions();
    for (std::size_t l = 0; l < o.num_layers; ++l)
        for (std::size_t d = 0; d < D; ++d) {
            const std::string sfx = "_l" + std::to_string(l) + (d ? "_reverse" : "");
            const std::size_t in = l == 0 ? o.input_size : H * D;
            RNNWeights w;
            w.weight_ih = register_parameter("weight_ih" + sfx, rnn_init({gates * H, in}, H));
            w.weight_hh = register_parameter("weight_hh" + sfx, rnn_init({gates * H, H}, H));
            if (o.bias) {
                w.bias_ih = register_parameter("bias_ih" + sfx, rnn_init({gates * H}, H));
                w.bias_hh = register_parameter("bias_hh" + sfx, rnn_init({gates * H}, H));
            }
            weights.push_back(w);
        }
}

GRU::GRU(const RNNOptions& o) : RNNBase(o, 3, "GRU") {}

GRUOutput GRU::forward(const Tensor& x, const std::vector<std::size_t>& lengths, const Tensor& h0) const {
    check_input("GRU", x, options, lengths);
    const std::size_t B = x.value().shape()[0], H = options.hidden_size, D = directions();
    const std::size_t count = options.num_layers * D;
    Tensor input = x;
    std::vector<Tensor> finals;
    for (std::size_t l = 0; l < options.num_layers; ++l) {
        if (l > 0 && is_training() && options.dropout > 0.0f) input = dropout(input, options.dropout);
        std::vector<Tensor> outs;
        for (std::size_t d = 0; d < D; ++d) {
            const RNNWeights& w = weights[l * D + d];
            Tensor h = initial(h0, l * D + d, B, H, count, "GRU");
            if (fused) {
                Tensor out = gru_layer(input, h, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, lengths, d == 1);
                finals.push_back(final_states(out, lengths, d == 1));
                outs.push_back(out);
            } else {
                outs.push_back(run_composed(input, lengths, d == 1, h, [&](const Tensor& xt, Tensor& state, const Tensor& m) {
                    const Tensor next = gru_step(xt, state, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, H);
                    state = m * next + (1.0f - m) * state;
                    return next;
                }));
                finals.push_back(h);
            }
        }
        input = D == 1 ? outs[0] : concat(outs, 2);
    }
    return {input, stack(finals, 0)};
}

LSTM::LSTM(const RNNOptions& o) : RNNBase(o, 4, "LSTM") {}

LSTMOutput LSTM::forward(const Tensor& x, const std::vector<std::size_t>& lengths, const Tensor& h0,
                         const Tensor& c0) const {
    check_input("LSTM", x, options, lengths);
    const std::size_t B = x.value().shape()[0], H = options.hidden_size, D = directions();
    const std::size_t count = options.num_layers * D;
    const long h = static_cast<long>(H);
    Tensor input = x;
    std::vector<Tensor> last_h, last_c;
    for (std::size_t l = 0; l < options.num_layers; ++l) {
        if (l > 0 && is_training() && options.dropout > 0.0f) input = dropout(input, options.dropout);
        std::vector<Tensor> outs;
        for (std::size_t d = 0; d < D; ++d) {
            const RNNWeights& w = weights[l * D + d];
            LSTMState s{initial(h0, l * D + d, B, H, count, "LSTM"), initial(c0, l * D + d, B, H, count, "LSTM")};
            if (fused) {
                Tensor both = lstm_layer(input, s.h, s.c, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, lengths, d == 1);
                Tensor hs = slice(both, 2, 0, h), cs = slice(both, 2, h, 2 * h);
                last_h.push_back(final_states(hs, lengths, d == 1));
                last_c.push_back(final_states(cs, lengths, d == 1));
                outs.push_back(hs);
            } else {
                outs.push_back(run_composed(input, lengths, d == 1, s, [&](const Tensor& xt, LSTMState& state, const Tensor& m) {
                    const LSTMState next = lstm_step(xt, state, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, H);
                    state = {m * next.h + (1.0f - m) * state.h, m * next.c + (1.0f - m) * state.c};
                    return next.h;
                }));
                last_h.push_back(s.h);
                last_c.push_back(s.c);
            }
        }
        input = D == 1 ? outs[0] : concat(outs, 2);
    }
    return {input, stack(last_h, 0), stack(last_c, 0)};
}

}  // namespace tapegrad::nn
