// Linear, Embedding, Dropout, and the two dropouts of the sentence VAE.
// Parameters use PyTorch's names and layouts (Linear::weight is [out, in]), so a
// checkpoint maps one to one onto a PyTorch state_dict.
#pragma once

#include "autograd/ops/index.hpp"
#include "nn/module.hpp"

namespace tapegrad::nn {

// y = x W^T + b. Default init as PyTorch: W, b ~ U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public Module {
public:
    Linear(std::size_t in_features, std::size_t out_features, bool bias = true);
    Tensor forward(const Tensor& x) const;  // [..., in] -> [..., out]
    Tensor operator()(const Tensor& x) const { return forward(x); }

    std::size_t in_features, out_features;
    Tensor weight;  // [out, in]
    Tensor bias;    // [out]; undefined without bias
};

// A lookup table of vectors. Default init as PyTorch: N(0, 1). With a padding
// index (-1: none), that row starts at zero and never receives a gradient.
class Embedding : public Module {
public:
    Embedding(std::size_t num_embeddings, std::size_t embedding_dim, std::int64_t padding_idx = -1);
    Tensor forward(const Indices& ids) const;  // ids [S...] -> [S..., dim]
    Tensor operator()(const Indices& ids) const { return forward(ids); }

    std::size_t num_embeddings, embedding_dim;
    std::int64_t padding_idx;
    Tensor weight;  // [num_embeddings, dim]
};

// Inverted dropout in training mode (each element zeroed with probability p, the
// rest scaled by 1/(1-p)); the identity in evaluation mode.
class Dropout : public Module {
public:
    explicit Dropout(float p = 0.5f);
    Tensor forward(const Tensor& x) const;
    Tensor operator()(const Tensor& x) const { return forward(x); }
    float p;
};

// Embedding dropout as the reference Sentence-VAE applies it: element-wise dropout
// on the embedded decoder inputs [B, T, E] (training only). Named apart from Dropout
// because it is a modelling choice of its own (Bowman et al. 2016, sec. 3.2 discuss
// weakening the decoder).
Tensor embedding_dropout(const Tensor& embedded, float p, bool training);

// Word dropout (Bowman et al. 2016, sec. 3.2): each token is replaced by `unk` with
// probability p, except tokens listed in `keep` (e.g. <sos>, <pad>), so that the
// decoder must lean on the latent code. Returns new ids; draws from the seeded engine.
Indices word_dropout(const Indices& tokens, float p, std::int64_t unk, const std::vector<std::int64_t>& keep);

}  // namespace tapegrad::nn
