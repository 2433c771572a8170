// The dedicated ops composed from primitive ops (reference.hpp).
#include "autograd/ops/reference.hpp"

#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/index.hpp"
#include "autograd/ops/linalg.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"

namespace tapegrad::autograd::reference {

Tensor logsumexp(const Tensor& a, int axis, bool keepdims) {
    const Tensor m = autograd::max(a, axis, true).detach();  // a constant: the result does not depend on it
    Tensor y = m + log(sum(exp(a - m), axis, true));
    return keepdims ? y : squeeze(y, axis);
}

Tensor matmul_transposed(const Tensor& a, const Tensor& b) { return matmul(a, transpose(b, -2, -1)); }

Tensor split_heads(const Tensor& x, std::size_t heads, std::size_t from, std::size_t width) {
    const Shape s = x.shape();
    if (width == 0) width = s[2] - from;
    const Tensor features = slice(x, -1, static_cast<long>(from), static_cast<long>(from + width));
    return transpose(reshape(features, {s[0], s[1], heads, width / heads}), 1, 2);
}

Tensor merge_heads(const Tensor& x) {
    const Shape s = x.shape();
    return reshape(transpose(x, 1, 2), {s[0], s[2], s[1] * s[3]});
}

Tensor softmax(const Tensor& a, int axis) { return exp(reference::log_softmax(a, axis)); }

Tensor log_softmax(const Tensor& a, int axis) { return a - reference::logsumexp(a, axis, true); }

Tensor softmax(const Tensor& a, int axis, const Tensor& mask) { return reference::softmax(a + mask, axis); }

Tensor log_softmax(const Tensor& a, int axis, const Tensor& mask) { return reference::log_softmax(a + mask, axis); }

Tensor attention_heads(const Tensor& q, const Tensor& kv, const HeadRanges& r, const Tensor& mask, float dropout) {
    const Attention att = scaled_dot_product_attention(reference::split_heads(q, r.heads, r.q, r.width),
                                                       reference::split_heads(kv, r.heads, r.k, r.width),
                                                       reference::split_heads(kv, r.heads, r.v, r.width), mask, dropout);
    return reference::merge_heads(att.output);
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
    const Tensor centred = x - mean(x, -1, true);
    const Tensor var = mean(centred * centred, -1, true);
    Tensor y = centred / sqrt(var + eps);
    if (weight.defined()) y = y * weight;
    if (bias.defined()) y = y + bias;
    return y;
}

Tensor gelu(const Tensor& x, Gelu form) {
    if (form == Gelu::exact) return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    const float c = 0.79788456080286536f, k = 0.044715f;  // c = sqrt(2 / pi)
    return 0.5f * x * (1.0f + tanh(c * (x + k * x * x * x)));
}

Tensor cross_entropy(const Tensor& logits, const Indices& targets, Reduction reduction, std::int64_t ignore_index) {
    return nll_loss(reference::log_softmax(logits, 1), targets, reduction, ignore_index);
}

Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Indices& targets,
                            Reduction reduction, std::int64_t ignore_index) {
    return reference::cross_entropy(linear(x, weight, bias), targets, reduction, ignore_index);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction) {
    if (logits.shape() != targets.shape())
        throw Error("binary_cross_entropy_with_logits: logits " + shape_str(logits.shape()) + " and targets " +
                    shape_str(targets.shape()) + " must have the same shape");
    return reduce(relu(logits) - logits * targets + log(1.0f + exp(-abs(logits))), reduction);
}

namespace {
// Gate k of a [B, G*H] projection.
Tensor gate(const Tensor& a, std::size_t k, std::size_t H) {
    return slice(a, 1, static_cast<long>(k * H), static_cast<long>((k + 1) * H));
}

// 1 where step t is inside sequence b, as [B, 1].
Tensor step_mask(const std::vector<std::size_t>& lengths, std::size_t B, std::size_t t) {
    Array m = Array::from_shape({B, 1});
    for (std::size_t b = 0; b < B; ++b) m(b, 0) = (lengths.empty() || t < lengths[b]) ? 1.0f : 0.0f;
    return Tensor(m);
}

// Runs step(x_t, state, mask) over [B, T, I], in reverse order when asked. Padded
// steps keep the state and output zeros; in reverse the state stays at its initial
// value over the padding at the end, so each sequence starts at its last real step.
template <class State, class StepFn>
Tensor run_steps(const Tensor& x, const std::vector<std::size_t>& lengths, bool reverse, State state, StepFn step) {
    const std::size_t B = x.shape()[0], T = x.shape()[1];
    std::vector<Tensor> outs(T);
    for (std::size_t k = 0; k < T; ++k) {
        const std::size_t t = reverse ? T - 1 - k : k;
        outs[t] = step(select(x, 1, static_cast<long>(t)), state, step_mask(lengths, B, t));
    }
    return stack(outs, 1);
}
}  // namespace

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
    const std::size_t H = w_hh.shape()[1];
    const Tensor gi = linear(x, w_ih, b_ih);  // [B, 3H]
    const Tensor gh = linear(h, w_hh, b_hh);  // [B, 3H]
    const Tensor r = sigmoid(gate(gi, 0, H) + gate(gh, 0, H));
    const Tensor z = sigmoid(gate(gi, 1, H) + gate(gh, 1, H));
    const Tensor n = tanh(gate(gi, 2, H) + r * gate(gh, 2, H));
    return (1.0f - z) * n + z * h;
}

LstmStep lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih, const Tensor& w_hh,
                   const Tensor& b_ih, const Tensor& b_hh) {
    const std::size_t H = w_hh.shape()[1];
    const Tensor a = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh);  // [B, 4H]
    const Tensor i = sigmoid(gate(a, 0, H)), f = sigmoid(gate(a, 1, H));
    const Tensor g = tanh(gate(a, 2, H)), o = sigmoid(gate(a, 3, H));
    const Tensor c_next = f * c + i * g;
    return {o * tanh(c_next), c_next};
}

Tensor gru_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                 const Tensor& b_hh, const std::vector<std::size_t>& lengths, bool reverse) {
    return run_steps(x, lengths, reverse, h0, [&](const Tensor& x_t, Tensor& h, const Tensor& m) {
        const Tensor next = reference::gru_cell(x_t, h, w_ih, w_hh, b_ih, b_hh);
        h = m * next + (1.0f - m) * h;
        return next * m;
    });
}

Tensor lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                  const Tensor& b_ih, const Tensor& b_hh, const std::vector<std::size_t>& lengths, bool reverse) {
    return run_steps(x, lengths, reverse, LstmStep{h0, c0}, [&](const Tensor& x_t, LstmStep& s, const Tensor& m) {
        const LstmStep next = reference::lstm_cell(x_t, s.h, s.c, w_ih, w_hh, b_ih, b_hh);
        s = {m * next.h + (1.0f - m) * s.h, m * next.c + (1.0f - m) * s.c};
        return concat({next.h * m, next.c * m}, 1);  // [B, 2H]: h and c side by side, as lstm_layer
    });
}

}  // namespace tapegrad::autograd::reference
