// Scaled dot-product attention, composed from tape ops, and the heads' layout changes (attention.hpp).
#include "autograd/ops/attention.hpp"

#include <cmath>
#include <limits>

#include "autograd/kernels/copy.hpp"
#include "autograd/ops/detail.hpp"
#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/index.hpp"
#include "autograd/ops/linalg.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"

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
