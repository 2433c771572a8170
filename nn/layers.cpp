#include "nn/layers.hpp"

#include <algorithm>
#include <cmath>

#include "autograd/ops/linalg.hpp"
#include "autograd/random.hpp"
#include "nn/init.hpp"

namespace tapegrad::nn {

Linear::Linear(std::size_t in, std::size_t out, bool with_bias) : in_features(in), out_features(out) {
    if (in == 0 || out == 0) throw Error("Linear: sizes must be positive, got in=" + std::to_string(in) + " out=" + std::to_string(out));
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    weight = register_parameter("weight", autograd::uniform({out, in}, -bound, bound));
    if (with_bias) bias = register_parameter("bias", autograd::uniform({out}, -bound, bound));
}

Tensor Linear::forward(const Tensor& x) const { return autograd::linear(x, weight, bias); }

Embedding::Embedding(std::size_t num, std::size_t dim, std::int64_t pad)
    : num_embeddings(num), embedding_dim(dim), padding_idx(pad) {
    if (pad >= static_cast<std::int64_t>(num) || pad < -1)
        throw Error("Embedding: padding_idx " + std::to_string(pad) + " is not a row of a table of " + std::to_string(num) +
                    " (use -1 for none)");
    Array w = autograd::randn({num, dim});
    if (pad >= 0) xt::view(w, pad, xt::all()) = 0.0f;
    weight = register_parameter("weight", std::move(w));
}

Tensor Embedding::forward(const Indices& ids) const { return autograd::gather(weight, ids, padding_idx); }

Dropout::Dropout(float p_) : p(p_) {
    if (!(p >= 0.0f && p < 1.0f)) throw Error("Dropout: probability " + std::to_string(p) + " must lie in [0, 1)");
}

Tensor Dropout::forward(const Tensor& x) const { return is_training() && p > 0.0f ? autograd::dropout(x, p) : x; }

Tensor embedding_dropout(const Tensor& embedded, float p, bool training) {
    return training && p > 0.0f ? autograd::dropout(embedded, p) : embedded;
}

Indices word_dropout(const Indices& tokens, float p, std::int64_t unk, const std::vector<std::int64_t>& keep) {
    if (!(p >= 0.0f && p <= 1.0f)) throw Error("word_dropout: probability " + std::to_string(p) + " must lie in [0, 1]");
    Indices out = tokens;
    if (p == 0.0f) return out;
    // One draw per position, kept tokens included, so that the draws do not depend on
    // the tokens (and a RowSlice's rows are the whole batch's: random.hpp).
    std::vector<std::uint8_t> drop(out.size());
    autograd::fill_bernoulli(drop.data(), Shape(out.shape().begin(), out.shape().end()), p, 1, 0);
    for (std::size_t i = 0; i < out.size(); ++i)
        if (drop[i] && std::find(keep.begin(), keep.end(), out.data()[i]) == keep.end()) out.data()[i] = unk;
    return out;
}

}  // namespace tapegrad::nn
