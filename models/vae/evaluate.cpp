#include "models/vae/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/autograd.hpp"

namespace tapegrad::models::vae {

using namespace autograd;
using nn::dist::Normal;

namespace {

const double log_2pi = std::log(2.0 * std::numbers::pi);

double logsumexp(const std::vector<double>& v) {
    const double m = *std::max_element(v.begin(), v.end());
    double s = 0.0;
    for (double x : v) s += std::exp(x - m);
    return m + std::log(s);
}

std::vector<std::size_t> range(std::size_t from, std::size_t to) {
    std::vector<std::size_t> r;
    for (std::size_t i = from; i < to; ++i) r.push_back(i);
    return r;
}

// log N(z; mu, sigma) summed over Z, from the noise eps = (z - mu) / sigma.
double log_posterior(const float* eps, const float* logvar, std::size_t Z) {
    double s = 0.0;
    for (std::size_t j = 0; j < Z; ++j) s += -0.5 * (double(eps[j]) * eps[j] + log_2pi + logvar[j]);
    return s;
}

// Active units and I(x; z) from the posteriors of N examples, encoded in batches
// by encode(from, to) -> q(z|x) [to - from, Z].
template <class Encode>
LatentMetrics summarize_posteriors(std::size_t N, std::size_t Z, std::size_t batch_size, std::uint64_t seed,
                                   double threshold, Encode encode) {
    Array mu = Array::from_shape({N, Z}), logvar = Array::from_shape({N, Z});
    for (std::size_t b = 0; b < N; b += batch_size) {
        const Normal q = encode(b, std::min(N, b + batch_size));
        std::copy(q.loc.value().begin(), q.loc.value().end(), mu.data() + b * Z);
        const Array lv = 2.0f * q.log_scale.value();  // log_scale is exactly logvar / 2
        std::copy(lv.begin(), lv.end(), logvar.data() + b * Z);
    }
    LatentMetrics m;
    m.latent = Z;
    m.variances = posterior_mean_variances(mu);
    for (double v : m.variances) m.active_units += v > threshold ? 1 : 0;
    m.mutual_information = mutual_information(mu, logvar, seed);
    return m;
}

}  // namespace

double Metrics::ppl_elbo() const { return std::exp((nll + kl) * static_cast<double>(examples) / static_cast<double>(items)); }
double Metrics::ppl_rec() const { return std::exp(nll * static_cast<double>(examples) / static_cast<double>(items)); }
double ImportanceWeighted::ppl() const { return std::exp(nll * static_cast<double>(examples) / static_cast<double>(items)); }

namespace {
void check_not_empty(const data::Dataset& data, const char* who) {
    if (data.size() == 0) throw Error(std::string(who) + ": the data set has no examples to evaluate");
}
}  // namespace

nn::distributed::RowRange on_my_rows(nn::distributed::Communicator& group, const data::Batch& whole,
                                     const std::function<void(const data::Batch&, nn::distributed::RowRange)>& mine,
                                     const std::function<void()>& none) {
    const int ranks = group.size();
    const nn::distributed::RowRange rows = nn::distributed::row_range(whole.size(), group.rank(), ranks);
    if (ranks == 1) {
        mine(whole, rows);
    } else if (rows.size() > 0) {
        RowSlice slice(whole.size(), rows.begin, rows.end, whole.text.lengths);  // tokens, for packed layouts
        mine(whole.slice(rows.begin, rows.end), rows);
    } else if (none) {
        none();
    }
    return rows;
}

void share_random_state(nn::distributed::Communicator& group, std::size_t rows) {
    if (rows >= static_cast<std::size_t>(group.size())) return;
    std::string state = generator().state();
    group.broadcast(state, group.size() - 1);
    generator().set_state(state);
}

Metrics evaluate(LatentVariableModel& model, const data::Dataset& data, std::size_t batch_size, std::uint64_t seed,
                 nn::distributed::Communicator* group) {
    check_not_empty(data, "evaluate");
    nn::EvalGuard eval(model);
    NoGradGuard no_grad;
    SeedScope scope(seed);
    nn::distributed::Solo alone;
    double sums[3] = {0, 0, 0};  // NLL, KL, items
    for (std::size_t b = 0; b < data.size(); b += batch_size) {
        const Batch whole = data.batch(range(b, std::min(data.size(), b + batch_size)));
        on_my_rows(group ? *group : alone, whole, [&](const Batch& batch, nn::distributed::RowRange) {
            const Normal q = model.posterior(batch);
            const Tensor z = model.variational() ? q.rsample() : q.loc;
            sums[0] += model.total_neg_log_likelihood(batch, z).item();
            if (model.variational()) sums[1] += sum(kl_divergence(q, model.prior(batch))).item();
            for (auto r : batch.rows) sums[2] += static_cast<double>(data.items(r));
        });
        if (group) share_random_state(*group, whole.size());
    }
    if (group) group->sum(sums, 3);
    Metrics m;
    m.examples = data.size();
    m.items = static_cast<std::size_t>(sums[2]);
    m.nll = sums[0] / static_cast<double>(m.examples);
    m.kl = sums[1] / static_cast<double>(m.examples);
    return m;
}

ImportanceWeighted importance_weighted_nll(LatentVariableModel& model, const data::Dataset& data, std::size_t n,
                                           std::size_t K, std::uint64_t seed, nn::distributed::Communicator* group) {
    if (K == 0) throw Error("importance_weighted_nll: K must be at least 1");
    check_not_empty(data, "importance_weighted_nll");
    nn::EvalGuard eval(model);
    NoGradGuard no_grad;
    SeedScope scope(seed);
    if (n == 0 || n > data.size()) n = data.size();
    const std::size_t Z = model.latent_size();
    const std::size_t chunk = std::max<std::size_t>(1, 512 / K);  // examples per decoder batch
    ImportanceWeighted r;
    r.k = K;
    nn::distributed::Solo alone;
    double sums[3] = {0, 0, 0};  // IW NLL, 1-sample -ELBO, items
    for (std::size_t s0 = 0; s0 < n; s0 += chunk) {
        const Batch whole = data.batch(range(s0, std::min(n, s0 + chunk)));
        on_my_rows(group ? *group : alone, whole, [&](const Batch& one, nn::distributed::RowRange) {
            const std::vector<std::size_t>& rows = one.rows;
            const Normal q = model.posterior(one);  // [S, Z]
            // K copies of each example, example-major, with their own z_k (the copies of
            // the batch, not a new batch: a binarised image keeps its pixels).
            std::vector<std::size_t> copies;
            for (std::size_t s = 0; s < rows.size(); ++s)
                for (std::size_t k = 0; k < K; ++k) copies.push_back(s);
            const Batch many = one.subset(copies);
            const Array eps = randn({copies.size(), Z});
            Array z = Array::from_shape({copies.size(), Z});
            for (std::size_t c = 0; c < copies.size(); ++c)
                for (std::size_t j = 0; j < Z; ++j) {
                    const std::size_t s = c / K;
                    z(c, j) = q.loc.value()(s, j) + q.scale.value()(s, j) * eps(c, j);
                }
            const Array nll = model.neg_log_likelihood(many, Tensor(z)).value();          // [S K]
            const Array log_p = sum(model.prior(many).log_prob(Tensor(z)), -1).value();    // [S K]
            for (std::size_t s = 0; s < rows.size(); ++s) {
                std::vector<double> logw(K);
                std::vector<float> logvar(Z);
                for (std::size_t j = 0; j < Z; ++j) logvar[j] = 2.0f * q.log_scale.value()(s, j);  // log sigma = logvar / 2
                for (std::size_t k = 0; k < K; ++k) {
                    const std::size_t c = s * K + k;
                    logw[k] = -double(nll(c)) + double(log_p(c)) - log_posterior(eps.data() + c * Z, logvar.data(), Z);
                }
                sums[0] += -(logsumexp(logw) - std::log(static_cast<double>(K)));
                sums[1] += -logw[0];
                sums[2] += static_cast<double>(data.items(rows[s]));
            }
        });
        if (group) share_random_state(*group, whole.size());
    }
    if (group) group->sum(sums, 3);
    r.examples = n;
    r.items = static_cast<std::size_t>(sums[2]);
    r.nll = sums[0] / static_cast<double>(n);
    r.neg_elbo_1sample = sums[1] / static_cast<double>(n);
    return r;
}

std::vector<double> posterior_mean_variances(const Array& mu) {
    const std::size_t N = mu.shape()[0], Z = mu.shape()[1];
    std::vector<double> mean(Z, 0.0), var(Z, 0.0);
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < Z; ++j) mean[j] += mu(i, j);
    for (auto& m : mean) m /= static_cast<double>(N);
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < Z; ++j) var[j] += (mu(i, j) - mean[j]) * (mu(i, j) - mean[j]);
    for (auto& v : var) v /= static_cast<double>(N > 1 ? N - 1 : 1);
    return var;
}

double mutual_information(const Array& mu, const Array& logvar, std::uint64_t seed) {
    const std::size_t N = mu.shape()[0], Z = mu.shape()[1];
    if (N < 2) throw Error("mutual_information: needs at least two examples");
    // E_x E_q(z|x) log q(z|x) = -Z/2 log(2 pi) - 1/2 sum_j (1 + logvar_j), averaged over x.
    double neg_entropy = 0.0;
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < Z; ++j) neg_entropy += -0.5 * (log_2pi + 1.0 + logvar(i, j));
    neg_entropy /= static_cast<double>(N);
    // E_z log q(z), z_i ~ q(z|x_i), q(z) ~ 1/N sum_j q(z|x_j).
    Generator g(seed);
    std::vector<double> z(N * Z), inv_var(N * Z), log_norm(N, 0.0);
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < Z; ++j) {
            z[i * Z + j] = mu(i, j) + std::exp(0.5 * logvar(i, j)) * g.normal();
            inv_var[i * Z + j] = std::exp(-double(logvar(i, j)));
            log_norm[i] += -0.5 * (log_2pi + logvar(i, j));
        }
    double log_qz = 0.0;
    std::vector<double> terms(N);
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t k = 0; k < N; ++k) {
            double s = log_norm[k];
            for (std::size_t j = 0; j < Z; ++j) {
                const double d = z[i * Z + j] - mu(k, j);
                s -= 0.5 * d * d * inv_var[k * Z + j];
            }
            terms[k] = s;
        }
        log_qz += logsumexp(terms) - std::log(static_cast<double>(N));
    }
    return neg_entropy - log_qz / static_cast<double>(N);
}

LatentMetrics latent_metrics(LatentVariableModel& model, const data::Dataset& data, std::size_t batch_size,
                             std::uint64_t seed, double threshold, std::size_t max_examples) {
    check_not_empty(data, "latent_metrics");
    nn::EvalGuard eval(model);
    NoGradGuard no_grad;
    SeedScope scope(seed);
    const std::size_t N = max_examples ? std::min(data.size(), max_examples) : data.size();
    LatentMetrics m = summarize_posteriors(N, model.latent_size(), batch_size, seed, threshold, [&](std::size_t from, std::size_t to) {
        return model.posterior(data.batch(range(from, to)));
    });
    m.examples = N;
    return m;
}

}  // namespace tapegrad::models::vae
