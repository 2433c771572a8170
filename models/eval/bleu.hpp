// Corpus BLEU as sacreBLEU 2.x computes it by default (the signature
// nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp): the mteval-v13a tokenisation of the
// detokenised hypothesis and reference, case-sensitive n-gram precisions up to 4-grams
// clipped by the reference counts and summed over the corpus, the brevity penalty, and
// the 'exp' smoothing of zero counts. Definitions from sacreBLEU 2.6.0
// (sacrebleu/metrics/bleu.py, tokenizers/tokenizer_13a.py, tokenizers/tokenizer_re.py);
// this is our own implementation, held to sacreBLEU's published test values in
// tests/models/test_metrics.cpp.
// Read next: models/eval/chrf.hpp, docs/translation_data.md (the metrics section).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace tapegrad::models::eval {

inline constexpr std::size_t bleu_max_order = 4;

// mteval-v13a tokenisation (sacreBLEU's Tokenizer13a):
//  1. remove "<skipped>"; "-\n" -> ""; "\n" -> " "; &quot; &amp; &lt; &gt; -> " & < >
//  2. surround each of these ASCII characters with spaces:
//     space ! " # $ % & ( ) * + / : ; < = > ? @ [ \ ] ^ _ ` { | } ~
//  3. split off a period or comma unless a digit precedes it, then unless a digit
//     follows it; split a hyphen off a preceding digit (the three regular expressions
//     applied left to right, each over the whole line, as re.sub does)
//  4. split at Unicode whitespace (Python's str.split()).
// The apostrophe, hyphens between letters and all non-ASCII punctuation (“ ” ’ ¿ ¡ —)
// stay attached to their words.
std::vector<std::string> tokenize_13a(const std::string& line);

// The sufficient statistics: summed over sentences, they give the corpus score.
struct BleuStats {
    std::size_t hyp_len = 0, ref_len = 0;                 // tokens (the closest reference's length)
    std::array<std::size_t, bleu_max_order> matches{};    // clipped n-gram matches, n = 1..4
    std::array<std::size_t, bleu_max_order> totals{};     // hypothesis n-grams, n = 1..4
    BleuStats& operator+=(const BleuStats& other);
};

struct BleuScore {
    double score = 0;                                     // 0..100
    std::array<double, bleu_max_order> precisions{};      // percent, after smoothing
    double bp = 0;                                        // brevity penalty
    double ratio = 0;                                     // hyp_len / ref_len
    BleuStats stats;
    // "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|impl:tapegrad = 26.62 58.1/32.1/20.0/12.7
    //  (BP = 1.000 ratio = 1.002 hyp_len = 100 ref_len = 99)", sacreBLEU's text format with the
    // score to two decimals; "impl:tapegrad" where sacreBLEU writes its version.
    std::string format(std::size_t references = 1) const;
};

// One hypothesis against its references (already detokenised text; tokenised here).
// With several references, n-gram counts are clipped by the largest count in any
// reference and ref_len is the reference length closest to hyp_len (the shorter on a tie).
BleuStats bleu_stats(const std::string& hypothesis, const std::vector<std::string>& references);

// The score from summed statistics (sacreBLEU's BLEU.compute_bleu with smooth_method 'exp'):
//   BP = 1 if hyp_len >= ref_len, else exp(1 - ref_len / hyp_len) (0 if hyp_len = 0)
//   p_n = 100 matches_n / totals_n; a zero match count takes 100 / (2^k totals_n) instead,
//         k counting the zero orders met so far; orders after one with totals_n = 0 keep p_n = 0
//   BLEU = BP exp(sum_n log p_n / 4), log 0 taken as -9999999999; 0 if nothing matched at all.
BleuScore bleu_from_stats(const BleuStats& stats);

// Corpus BLEU of hypotheses[i] against references[i] (one reference per sentence).
// Refused: different numbers of hypotheses and references, or none.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);
// With several reference streams: reference_streams[r][i] is reference r of sentence i.
BleuScore corpus_bleu_multi(const std::vector<std::string>& hypotheses,
                            const std::vector<std::vector<std::string>>& reference_streams);

}  // namespace tapegrad::models::eval
