// Evaluation, labelled as papers label it. All in nats; every function runs in
// evaluation mode without gradients, and draws its random numbers under its own
// seed, so evaluating never changes a training run's random stream.
//
// Sentences (target tokens: the words plus </s>; <s> is not counted):
//   NLL      -log p(x|z) summed over a sentence's target tokens, z ~ q(z|x) (1 sample)
//   KL       KL(q(z|x) || N(0, I))
//   -ELBO    NLL + KL (an upper bound on -log p(x))
//   ppl_elbo exp(sum over sentences of -ELBO / number of target tokens)
//   IW NLL   -log (1/K sum_k p(x|z_k) p(z_k) / q(z_k|x)), z_k ~ q(z|x): a tighter
//            estimate of -log p(x) (Burda et al. 2016), with its K stated
//   active units  latent dimensions whose posterior mean varies across the data:
//            Var_x(E_q[z_j]) > 0.01 (Burda et al. 2016)
//   mutual information I(x; z) under q, estimated as in He et al. 2019:
//            E_x E_q(z|x)[log q(z|x)] - E_z[log q(z)], q(z) the aggregate posterior
//            over the evaluated set
// Posterior collapse shows as KL -> 0, no active units and I(x; z) -> 0.
#pragma once

#include <vector>

#include "models/data/images.hpp"
#include "models/data/text.hpp"
#include "models/vae/image_vae.hpp"
#include "models/vae/sentence_vae.hpp"

namespace tapegrad::models::vae {

struct TextMetrics {
    std::size_t sentences = 0, tokens = 0;
    double nll = 0, kl = 0;  // per sentence
    double neg_elbo() const { return nll + kl; }
    double ppl_elbo() const;  // exp(sum (NLL + KL) / tokens)
    double ppl_rec() const;   // exp(sum NLL / tokens): reconstruction only, not a language-model perplexity
};
TextMetrics evaluate(SentenceVAE& model, const data::SentenceDataset& data, std::size_t batch_size = 64,
                     std::uint64_t seed = 1);

struct ImportanceWeighted {
    std::size_t examples = 0, tokens = 0, k = 0;
    double nll = 0;               // IW estimate of -log p(x), per example
    double neg_elbo_1sample = 0;  // the 1-sample -ELBO on the same examples, for comparison
    double ppl() const;           // exp(sum IW NLL / tokens) (sentences only)
};
// On the first n sentences (all if n is 0 or too large), K samples each.
ImportanceWeighted importance_weighted_nll(SentenceVAE& model, const data::SentenceDataset& data, std::size_t n,
                                           std::size_t K, std::uint64_t seed = 1);

struct LatentMetrics {
    std::size_t latent = 0, active_units = 0;
    std::vector<double> variances;  // Var_x of each dimension's posterior mean
    double mutual_information = 0;  // nats
};
LatentMetrics latent_metrics(SentenceVAE& model, const data::SentenceDataset& data, std::size_t batch_size = 64,
                             std::uint64_t seed = 1, double threshold = 0.01);

struct ImageMetrics {
    std::size_t images = 0;
    double recon = 0, kl = 0;  // per image
    double neg_elbo() const { return recon + kl; }
};
ImageMetrics evaluate(ImageVAE& model, const data::ImageSet& data, data::Binarize mode, std::size_t batch_size = 1000,
                      std::uint64_t seed = 1);
ImportanceWeighted importance_weighted_nll(ImageVAE& model, const data::ImageSet& data, data::Binarize mode,
                                           std::size_t n, std::size_t K, std::uint64_t seed = 1);
LatentMetrics latent_metrics(ImageVAE& model, const data::ImageSet& data, data::Binarize mode,
                             std::size_t batch_size = 1000, std::uint64_t seed = 1, double threshold = 0.01);

// The estimators on raw posterior parameters (shared by both models, tested alone):
// mu, logvar [N, Z].
std::vector<double> posterior_mean_variances(const Array& mu);
double mutual_information(const Array& mu, const Array& logvar, std::uint64_t seed);

}  // namespace tapegrad::models::vae
