// Scaled dot-product attention, composed from tape ops (attention.hpp).
#include "autograd/ops/attention.hpp"

#include <cmath>
#include <limits>

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
