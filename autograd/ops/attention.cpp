// Scaled dot-product attention, composed from tape ops, and the heads' layout changes (attention.hpp).
#include "autograd/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/kernels/attention.hpp"
#include "autograd/kernels/copy.hpp"
#include "autograd/ops/detail.hpp"
#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/index.hpp"
#include "autograd/ops/linalg.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/random.hpp"

namespace tapegrad::autograd {

Attention scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                       float dropout_p) {
    if (q.ndim() < 2 || k.ndim() < 2 || v.ndim() < 2 || q.shape().back() != k.shape().back() ||
        k.shape()[k.ndim() - 2] != v.shape()[v.ndim() - 2])
        throw Error("scaled_dot_product_attention: q " + shape_str(q.shape()) + ", k " + shape_str(k.shape()) +
                    " and v " + shape_str(v.shape()) + " do not fit ([..., Lq, d], [..., Lk, d], [..., Lk, dv])");
    const float scale = 1.0f / std::sqrt(static_cast<float>(q.shape().back()));
    const Tensor scores = matmul_transposed(q, k) * scale;  // q k^T: [..., Lq, Lk]
    Tensor weights = mask.defined() ? softmax(scores, -1, mask) : softmax(scores, -1);
    if (dropout_p > 0.0f) weights = dropout(weights, dropout_p);
    return {matmul(weights, v), weights};
}

namespace {

// Zeroes the features of each row of x [..., F] outside the ranges [from, from + width).
void zero_outside(Array& x, std::initializer_list<std::size_t> froms, std::size_t width) {
    const std::size_t F = x.shape().back(), rows = F ? x.size() / F : 0;
    std::vector<bool> covered(F, false);
    for (std::size_t from : froms) std::fill(covered.begin() + from, covered.begin() + from + width, true);
    if (std::find(covered.begin(), covered.end(), false) == covered.end()) return;  // the usual case
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t f = 0; f < F; ++f)
            if (!covered[f]) x.data()[r * F + f] = 0.0f;
}

void check_ranges(const Tensor& q, const Tensor& kv, const HeadRanges& r) {
    auto where = [&] {
        return "q " + shape_str(q.shape()) + " and kv " + shape_str(kv.shape()) + " with heads " +
               std::to_string(r.heads) + ", width " + std::to_string(r.width) + " at q " + std::to_string(r.q) +
               ", k " + std::to_string(r.k) + ", v " + std::to_string(r.v);
    };
    if (q.ndim() != 3 || kv.ndim() != 3 || q.shape()[0] != kv.shape()[0])
        throw Error("attention_heads: " + where() + ": q and kv must be [B, L, F] of one batch");
    if (r.heads == 0 || r.width == 0 || r.width % r.heads != 0)
        throw Error("attention_heads: " + where() + ": the width must be a positive multiple of the heads");
    if (r.q + r.width > q.shape()[2] || r.k + r.width > kv.shape()[2] || r.v + r.width > kv.shape()[2])
        throw Error("attention_heads: " + where() + ": a range runs past the features");
    auto apart = [&](std::size_t a, std::size_t b) { return a + r.width <= b || b + r.width <= a; };
    if (!apart(r.k, r.v) || (q.node() == kv.node() && (!apart(r.q, r.k) || !apart(r.q, r.v))))
        throw Error("attention_heads: " + where() + ": ranges of one tensor overlap");
}

}  // namespace

Tensor attention_heads(const Tensor& q, const Tensor& kv, const HeadRanges& r, const Tensor& mask, float dropout_p) {
    check_ranges(q, kv, r);
    if (!(dropout_p >= 0.0f && dropout_p < 1.0f))
        throw Error("attention_heads: dropout " + std::to_string(dropout_p) + " must lie in [0, 1)");
    const bool one = q.node() == kv.node();
    const std::size_t B = q.shape()[0], Lq = q.shape()[1], Fq = q.shape()[2], Lk = kv.shape()[1], Fkv = kv.shape()[2];
    const std::size_t H = r.heads, d = r.width / H;
    const Shape weights_shape{B, H, Lq, Lk};
    kernels::AttentionDims dims{.batch = B, .heads = H, .d = d, .scale = 1.0f / std::sqrt(static_cast<float>(d))};
    if (mask.defined()) {
        if (mask.requires_grad()) throw Error("attention_heads: the mask must be a constant (it gets no gradient)");
        const Shape ms = mask.shape();
        if (ms.size() > 4 || detail::broadcast_shapes(ms, weights_shape, "attention_heads (mask)") != weights_shape)
            throw Error("attention_heads: mask " + shape_str(ms) + " does not broadcast to the weights' " +
                        shape_str(weights_shape));
        std::size_t stride = 1;
        for (std::size_t i = ms.size(); i-- > 0;) {
            dims.mask_stride[4 - ms.size() + i] = ms[i] == 1 ? 0 : stride;
            stride *= ms[i];
        }
        dims.mask = mask.value().data();
    }
    std::shared_ptr<std::uint8_t[]> keep;
    if (dropout_p > 0.0f) {
        keep.reset(new std::uint8_t[B * H * Lq * Lk]);
        fill_bernoulli(keep.get(), weights_shape, dropout_p, 0, 1);  // the draws dropout(weights, p) makes
        dims.keep = keep.get();
        dims.keep_scale = 1.0f / (1.0f - dropout_p);
    }
    auto p = std::make_shared<Array>(Array::from_shape(weights_shape));
    Array y = Array::from_shape({B, Lq, r.width});
    const float* qv = q.value().data();
    const float* kvv = kv.value().data();
    kernels::attention(dims, {qv + r.q, Fq, Lq}, {kvv + r.k, Fkv, Lk}, {kvv + r.v, Fkv, Lk}, p->data(),
                       {y.data(), r.width, Lq});
    std::vector<Tensor> inputs{q};
    if (!one) inputs.push_back(kv);
    return record("attention_heads", std::move(y), inputs, reads_inputs,
                  [dims, keep, p, r, one, B, Lq, Fq, Lk, Fkv](Step& s) -> Grads {
        kernels::AttentionDims a = dims;
        a.mask = nullptr;  // the backward pass does not read it
        const float* qv = s.input(0).data();
        const float* kvv = one ? qv : s.input(1).data();
        Array dq = Array::from_shape({B, Lq, Fq});
        Array dkv = one ? Array() : Array::from_shape({B, Lk, Fkv});
        float* dkvp = one ? dq.data() : dkv.data();
        kernels::attention_backward(a, {qv + r.q, Fq, Lq}, {kvv + r.k, Fkv, Lk}, {kvv + r.v, Fkv, Lk}, p->data(),
                                    {s.grad.data(), r.width, Lq}, {dq.data() + r.q, Fq, Lq},
                                    {dkvp + r.k, Fkv, Lk}, {dkvp + r.v, Fkv, Lk});
        Grads g(s);
        if (one) {
            zero_outside(dq, {r.q, r.k, r.v}, r.width);
            g[0] = std::move(dq);
            return g;
        }
        zero_outside(dq, {r.q}, r.width);
        zero_outside(dkv, {r.k, r.v}, r.width);
        if (s.needs_grad(0)) g[0] = std::move(dq);
        if (s.needs_grad(1)) g[1] = std::move(dkv);
        return g;
    });
}

// y[b, h, l, i] = x[b, l, from + h d + i]      dx[b, l, from + h d + i] = g[b, h, l, i], 0 elsewhere
Tensor split_heads(const Tensor& x, std::size_t heads, std::size_t from, std::size_t width) {
    const Shape s = x.shape();
    if (s.size() != 3 || heads == 0 || from > s[2])
        throw Error("split_heads: x " + shape_str(s) + " must be [B, L, F], with heads > 0 (" + std::to_string(heads) +
                    ") and from <= F (" + std::to_string(from) + ")");
    if (width == 0) width = s[2] - from;
    if (from + width > s[2] || width % heads != 0)
        throw Error("split_heads: features [" + std::to_string(from) + ", " + std::to_string(from + width) + ") of x " +
                    shape_str(s) + " do not split into " + std::to_string(heads) + " heads");
    const std::size_t B = s[0], L = s[1], F = s[2], d = width / heads;
    Array y = Array::from_shape({B, heads, L, d});
    kernels::gather_heads(x.value().data(), B, L, F, from, heads, d, y.data());
    return record("split_heads", std::move(y), {x}, reads_nothing, [=](Step& st) -> Grads {
        Array dx = Array::from_shape({B, L, F});
        kernels::scatter_heads(st.grad.data(), B, L, F, from, heads, d, dx.data());
        return {std::move(dx)};
    });
}

// y[b, l, h d + i] = x[b, h, l, i]      dx = the same move backwards
Tensor merge_heads(const Tensor& x) {
    const Shape s = x.shape();
    if (s.size() != 4) throw Error("merge_heads: x " + shape_str(s) + " must be [B, H, L, d]");
    const std::size_t B = s[0], H = s[1], L = s[2], d = s[3];
    Array y = Array::from_shape({B, L, H * d});
    kernels::scatter_heads(x.value().data(), B, L, H * d, 0, H, d, y.data());
    return record("merge_heads", std::move(y), {x}, reads_nothing, [=](Step& st) -> Grads {
        Array dx = Array::from_shape({B, H, L, d});
        kernels::gather_heads(st.grad.data(), B, L, H * d, 0, H, d, dx.data());
        return {std::move(dx)};
    });
}

Array causal_mask(std::size_t L) {
    Array m = zeros({L, L});
    for (std::size_t i = 0; i < L; ++i)
        for (std::size_t j = i + 1; j < L; ++j) m(i, j) = -std::numeric_limits<float>::infinity();
    return m;
}

Array padding_mask(const std::vector<std::size_t>& lengths, std::size_t L) {
    Array m = zeros({lengths.size(), L});
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        if (lengths[b] > L)
            throw Error("padding_mask: length " + std::to_string(lengths[b]) + " of sequence " + std::to_string(b) +
                        " exceeds " + std::to_string(L) + " positions");
        for (std::size_t t = lengths[b]; t < L; ++t) m.data()[b * L + t] = -std::numeric_limits<float>::infinity();
    }
    return m;
}

}  // namespace tapegrad::autograd
