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

void check_input(const char* what, const Tensor& x, const RNNOptions& o, const std::vector<std::size_t>& lengths) {
    if (x.ndim() != 3 || x.shape()[2] != o.input_size)
        throw Error(std::string(what) + ": input must be [B, T, " + std::to_string(o.input_size) + "], got " +
                    shape_str(x.shape()));
    const std::size_t B = x.shape()[0], T = x.shape()[1];
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

}  // namespace

GRUCell::GRUCell(std::size_t in, std::size_t hidden, bool bias) : input_size(in), hidden_size(hidden) {
    weight_ih = register_parameter("weight_ih", rnn_init({3 * hidden, in}, hidden));
    weight_hh = register_parameter("weight_hh", rnn_init({3 * hidden, hidden}, hidden));
    if (bias) {
        bias_ih = register_parameter("bias_ih", rnn_init({3 * hidden}, hidden));
        bias_hh = register_parameter("bias_hh", rnn_init({3 * hidden}, hidden));
    }
}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h) const {
    return reference::gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh);
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
    const reference::LstmStep next = reference::lstm_cell(x, s.h, s.c, weight_ih, weight_hh, bias_ih, bias_hh);
    return {next.h, next.c};
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
            const auto layer = fused ? gru_layer : reference::gru_layer;
            Tensor out = layer(input, h, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, lengths, d == 1);
            finals.push_back(final_states(out, lengths, d == 1));
            outs.push_back(out);
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
            const auto layer = fused ? lstm_layer : reference::lstm_layer;
            Tensor both = layer(input, s.h, s.c, w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, lengths, d == 1);
            Tensor hs = slice(both, 2, 0, h), cs = slice(both, 2, h, 2 * h);
            last_h.push_back(final_states(hs, lengths, d == 1));
            last_c.push_back(final_states(cs, lengths, d == 1));
            outs.push_back(hs);
        }
        input = D == 1 ? outs[0] : concat(outs, 2);
    }
    return {input, stack(last_h, 0), stack(last_c, 0)};
}

}  // namespace tapegrad::nn
