// Evaluation, labelled as papers label it. All in nats; every function runs in
// evaluation mode without gradients, and draws its random numbers under its own
// seed, so evaluating never changes a training run's random stream.
//
// For sentences, items are target tokens (the words plus </s>; <s> is not counted):
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

#include <functional>
#include <vector>

#include "models/data/dataset.hpp"
#include "models/vae/model.hpp"
#include "nn/distributed.hpp"

namespace tapegrad::models::vae {

struct Metrics {
    std::size_t examples = 0, items = 0;  // items: target tokens for text (data::Dataset::items)
    double nll = 0, kl = 0;               // per example
    double neg_elbo() const { return nll + kl; }
    double ppl_elbo() const;  // exp(sum (NLL + KL) / items): a perplexity bound when items are tokens
    double ppl_rec() const;   // exp(sum NLL / items): reconstruction only, not a language-model perplexity
};
// NLL (one z sample from q), KL and -ELBO over a whole data set.
// With a group of ranks (nn/distributed.hpp), each evaluates its rows of every
// batch, and all get the sums: the numbers of one process.
Metrics evaluate(LatentVariableModel& model, const data::Dataset& data, std::size_t batch_size = 64,
                 std::uint64_t seed = 1, nn::distributed::Communicator* group = nullptr);

struct ImportanceWeighted {
    std::size_t examples = 0, items = 0, k = 0;
    double nll = 0;               // IW estimate of -log p(x), per example
    double neg_elbo_1sample = 0;  // the 1-sample -ELBO on the same examples, for comparison
    double ppl() const;           // exp(sum IW NLL / items)
};
// On the first n examples (all if n is 0 or too large), K samples each.
ImportanceWeighted importance_weighted_nll(LatentVariableModel& model, const data::Dataset& data, std::size_t n,
                                           std::size_t K, std::uint64_t seed = 1,
                                           nn::distributed::Communicator* group = nullptr);

struct LatentMetrics {
    std::size_t latent = 0, active_units = 0, examples = 0;
    std::vector<double> variances;  // Var_x of each dimension's posterior mean
    double mutual_information = 0;  // nats
};
// On the first max_examples examples (all if 0): the mutual information's estimate
// costs N^2 Z.
LatentMetrics latent_metrics(LatentVariableModel& model, const data::Dataset& data, std::size_t batch_size = 64,
                             std::uint64_t seed = 1, double threshold = 0.01, std::size_t max_examples = 5000);

// Data parallelism: runs mine(part, rows) on this rank's rows of `whole` (all of
// them with one rank), with the random draws of the whole batch (autograd::
// RowSlice). A rank left without rows (a batch with fewer rows than ranks) runs
// none() instead, which must make the collective calls mine() makes. Returns the rows.
nn::distributed::RowRange on_my_rows(nn::distributed::Communicator& group, const data::Batch& whole,
                                     const std::function<void(const data::Batch&, nn::distributed::RowRange)>& mine,
                                     const std::function<void()>& none = {});
// After a batch of `rows` examples: if some rank had none (rows < ranks), its
// random engine missed the batch's draws, so every rank takes the engine of the
// last rank, which always has rows. Call it after the step's other collective
// calls (the gradient sums), in the same place on every rank.
void share_random_state(nn::distributed::Communicator& group, std::size_t rows);

// The estimators on raw posterior parameters (shared by every model, tested alone):
// mu, logvar [N, Z].
std::vector<double> posterior_mean_variances(const Array& mu);
double mutual_information(const Array& mu, const Array& logvar, std::uint64_t seed);

}  // namespace tapegrad::models::vae
