// Is one system's BLEU really higher than another's on this test set, or would other
// sentences of the same kind reverse the order? Paired bootstrap resampling (Koehn
// 2004, "Statistical significance tests for machine translation evaluation"): draw
// the test set's sentences with replacement many times, score both systems on each
// draw (the same sentences for both: paired), and count how often B beats A.
// Read next: models/eval/bleu.hpp.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tapegrad::models::eval {

struct PairedBootstrap {
    double bleu_a = 0, bleu_b = 0;    // on the whole test set
    double diff_low = 0, diff_high = 0;  // B - A: the central 95% of the resamples' differences
    double b_wins = 0;                // fraction of resamples in which B scores higher than A
    double ties = 0;                  // fraction in which both score the same
    std::size_t samples = 0;
    std::string format() const;       // one line: both scores, the interval and b_wins
};

// hypotheses_a[i] and hypotheses_b[i] translate the source of references[i]. Each
// resample draws N = references.size() sentence indices with replacement
// (resample_index of a std::mt19937_64 seeded with `seed`), sums both systems' BLEU
// statistics over them, and scores each sum. Only the test set's sentences are
// resampled: how much another training run would differ is not measured here.
// Refused: streams of different lengths, none, or 0 samples.
PairedBootstrap paired_bootstrap_bleu(const std::vector<std::string>& hypotheses_a,
                                      const std::vector<std::string>& hypotheses_b,
                                      const std::vector<std::string>& references, std::size_t samples = 1000,
                                      std::uint64_t seed = 1);

// The index of one drawn sentence: rng() mod n. mt19937_64 is specified exactly by the
// standard (unlike its distributions), so a seed gives the same draws everywhere; the
// modulo's bias is below n / 2^64.
std::size_t resample_index(std::mt19937_64& rng, std::size_t n);

}  // namespace tapegrad::models::eval
