// chrF as sacreBLEU 2.x computes it by default (chrF2, signature
// nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no): character n-grams of orders 1..6 with
// whitespace removed, n-gram counts summed over the corpus, precision and recall averaged
// over the orders that occur, and their F-beta with beta = 2 (recall weighted more).
// Definitions from sacreBLEU 2.6.0 (sacrebleu/metrics/chrf.py, metrics/helpers.py), after
// Popović (2015), "chrF: character n-gram F-score for automatic MT evaluation"; our own
// implementation, tested in tests/models/test_metrics.cpp.
// Read next: models/eval/bleu.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace tapegrad::models::eval {

struct ChrfOptions {
    std::size_t char_order = 6;  // n-gram orders 1..char_order
    double beta = 2;             // F-beta: recall counts beta^2 times as much as precision
};

// Per order n: hypothesis n-grams, reference n-grams, matches (clipped counts).
struct ChrfStats {
    std::vector<std::array<std::size_t, 3>> orders;  // [hyp, ref, match] per order
    ChrfStats& operator+=(const ChrfStats& other);
};

struct ChrfScore {
    double score = 0;  // 0..100
    ChrfStats stats;
    // "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|impl:tapegrad = 55.12"
    std::string format(const ChrfOptions& options = {}, std::size_t references = 1) const;
};

// One hypothesis against its references. Whitespace (Python's str.split() set) is removed,
// then n-grams are taken over code points. As in sacreBLEU, a sentence whose reference has
// no n-grams of order n (shorter than n characters) counts no hypothesis n-grams of that
// order either; with several references, the one giving the best sentence F wins.
ChrfStats chrf_stats(const std::string& hypothesis, const std::vector<std::string>& references,
                     const ChrfOptions& options = {});

// From summed statistics: over orders with hyp > 0 and ref > 0 (the effective orders),
// P = mean(match / hyp), R = mean(match / ref); chrF = 100 (1 + b^2) P R / (b^2 P + R),
// 0 if P + R = 0 or no order is effective.
double chrf_from_stats(const ChrfStats& stats, const ChrfOptions& options = {});

// Corpus chrF of hypotheses[i] against references[i]. Refused: different numbers of
// hypotheses and references, or none.
ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                      const ChrfOptions& options = {});
ChrfScore corpus_chrf_multi(const std::vector<std::string>& hypotheses,
                            const std::vector<std::vector<std::string>>& reference_streams, const ChrfOptions& options = {});

}  // namespace tapegrad::models::eval
