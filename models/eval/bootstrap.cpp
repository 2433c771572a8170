#include "models/eval/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <random>
#include <sstream>

#include "autograd/array.hpp"  // tapegrad::Error
#include "models/eval/bleu.hpp"

namespace tapegrad::models::eval {

std::size_t resample_index(std::mt19937_64& rng, std::size_t n) { return static_cast<std::size_t>(rng() % n); }

PairedBootstrap paired_bootstrap_bleu(const std::vector<std::string>& hypotheses_a,
                                      const std::vector<std::string>& hypotheses_b,
                                      const std::vector<std::string>& references, std::size_t samples,
                                      std::uint64_t seed) {
    const std::size_t N = references.size();
    if (hypotheses_a.size() != N || hypotheses_b.size() != N)
        throw Error("paired_bootstrap_bleu: " + std::to_string(hypotheses_a.size()) + " and " +
                    std::to_string(hypotheses_b.size()) + " hypotheses for " + std::to_string(N) + " references");
    if (N == 0) throw Error("paired_bootstrap_bleu: no sentences");
    if (samples == 0) throw Error("paired_bootstrap_bleu: needs at least one resample");
    // Each sentence's statistics once; a resample only adds them up.
    std::vector<BleuStats> a(N), b(N);
    BleuStats whole_a, whole_b;
    for (std::size_t i = 0; i < N; ++i) {
        a[i] = bleu_stats(hypotheses_a[i], {references[i]});
        b[i] = bleu_stats(hypotheses_b[i], {references[i]});
        whole_a += a[i];
        whole_b += b[i];
    }
    PairedBootstrap r;
    r.bleu_a = bleu_from_stats(whole_a).score;
    r.bleu_b = bleu_from_stats(whole_b).score;
    r.samples = samples;
    std::mt19937_64 rng(seed);
    std::vector<double> diffs(samples);
    std::size_t wins = 0, ties = 0;
    for (std::size_t s = 0; s < samples; ++s) {
        BleuStats sa, sb;
        for (std::size_t k = 0; k < N; ++k) {
            const std::size_t i = resample_index(rng, N);
            sa += a[i];
            sb += b[i];
        }
        diffs[s] = bleu_from_stats(sb).score - bleu_from_stats(sa).score;
        wins += diffs[s] > 0.0;
        ties += diffs[s] == 0.0;
    }
    std::sort(diffs.begin(), diffs.end());
    // The central 95%: 2.5% of the resamples below the interval and as many above it.
    const auto tail = static_cast<std::size_t>(std::floor(0.025 * static_cast<double>(samples)));
    r.diff_low = diffs[tail];
    r.diff_high = diffs[samples - 1 - tail];
    r.b_wins = static_cast<double>(wins) / static_cast<double>(samples);
    r.ties = static_cast<double>(ties) / static_cast<double>(samples);
    return r;
}

std::string PairedBootstrap::format() const {
    std::ostringstream o;
    o << std::fixed << std::setprecision(2) << "BLEU A " << bleu_a << ", B " << bleu_b << "; B - A " << bleu_b - bleu_a
      << ", 95% of " << samples << " paired resamples in [" << diff_low << ", " << diff_high << "]; B higher in "
      << std::setprecision(1) << 100.0 * b_wins << "% of them, tied in " << 100.0 * ties << "%";
    return o.str();
}

}  // namespace tapegrad::models::eval
