// BLEU and chrF (models/eval): hand-computed cases, and the values sacreBLEU's own test
// suite asserts (test/test_bleu.py, test/test_sentence_bleu.py, test/test_chrf.py in
// github.com/mjpost/sacrebleu, v2.6.0), which this implementation must reproduce.

#include <algorithm>
#include <cmath>
#include <random>

#include "models/eval/bleu.hpp"
#include "models/eval/bootstrap.hpp"
#include "models/eval/chrf.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::models::eval;
using Lines = std::vector<std::string>;

namespace {
using Counts = std::array<std::size_t, 4>;
double bleu(const Lines& hyps, const Lines& refs) { return corpus_bleu(hyps, refs).score; }
double chrf(const Lines& hyps, const Lines& refs, double beta = 2) { return corpus_chrf(hyps, refs, {6, beta}).score; }
}  // namespace

// ---- 13a tokenisation

TEST_CASE("tokenize_13a: ASCII punctuation split off, periods and commas kept inside numbers, Unicode marks kept") {
    CHECK(tokenize_13a("Hello, world! (3.5 - 2,000) 1-2 a/b “quoted” ¿Qué? don't &amp; x.") ==
          Lines{"Hello", ",", "world", "!", "(", "3.5", "-", "2,000", ")", "1", "-", "2", "a", "/", "b", "“quoted”",
                "¿Qué", "?", "don't", "&", "x", "."});
    CHECK(tokenize_13a("Beth-el, the God’s house.") == Lines{"Beth-el", ",", "the", "God’s", "house", "."});
    CHECK(tokenize_13a("  a\u00a0b \t<skipped>c  ") == Lines{"a", "b", "c"});
    CHECK(tokenize_13a("") == Lines{});
}

// ---- BLEU, hand-computed

TEST_CASE("BLEU: no n-gram in common scores 0") {
    const BleuScore s = corpus_bleu({"the cat sat"}, {"a dog ran"});
    CHECK(s.score == 0.0);
    CHECK(s.stats.matches == Counts{0, 0, 0, 0});
    CHECK(s.stats.totals == Counts{3, 2, 1, 0});
    CHECK(s.precisions == std::array<double, 4>{0, 0, 0, 0});
}

TEST_CASE("BLEU: a perfect match scores 100") {
    const BleuScore s = corpus_bleu({"The dog bit the man."}, {"The dog bit the man."});
    CHECK(s.score == doctest::Approx(100.0).epsilon(1e-12));
    CHECK(s.stats.totals == Counts{6, 5, 4, 3});  // The dog bit the man .
    CHECK(s.format() ==
          "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|impl:tapegrad = 100.00 100.0/100.0/100.0/100.0 "
          "(BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)");
}

TEST_CASE("BLEU: a short hypothesis pays the brevity penalty exp(1 - r/c)") {
    // Every n-gram matches; 6 tokens against 7: BP = exp(1 - 7/6).
    const BleuScore s = corpus_bleu({"the cat sat on the mat"}, {"the cat sat on the mat today"});
    CHECK(s.bp == doctest::Approx(std::exp(-1.0 / 6)).epsilon(1e-12));
    CHECK(s.score == doctest::Approx(100 * std::exp(-1.0 / 6)).epsilon(1e-12));  // 84.648...
    CHECK(s.ratio == doctest::Approx(6.0 / 7));
    // A longer hypothesis is not penalised for length.
    CHECK(corpus_bleu({"the cat sat on the mat today"}, {"the cat sat on the mat"}).bp == 1.0);
}

TEST_CASE("BLEU: corpus statistics are summed over sentences, not sentence scores averaged") {
    // a b c d | a b c d: matches 4 3 2 1 of 4 3 2 1; e f g h | e f k l: matches 2 1 0 0.
    // Summed: 6/8 4/6 2/4 1/2 -> (75 * 66.67 * 50 * 50)^(1/4) = 12,500,000^(1/4).
    const BleuScore s = corpus_bleu({"a b c d", "e f g h"}, {"a b c d", "e f k l"});
    CHECK(s.stats.matches == Counts{6, 4, 2, 1});
    CHECK(s.stats.totals == Counts{8, 6, 4, 2});
    CHECK(s.score == doctest::Approx(std::pow(12.5e6, 0.25)).epsilon(1e-12));  // 59.46
    // The second sentence alone, with 'exp' smoothing of its zero 3- and 4-gram counts:
    // 50, 33.3, 100 / (2 * 2) = 25, 100 / (4 * 1) = 25.
    const BleuScore second = corpus_bleu({"e f g h"}, {"e f k l"});
    CHECK(second.precisions[2] == doctest::Approx(25.0));
    CHECK(second.precisions[3] == doctest::Approx(25.0));
    CHECK(second.score == doctest::Approx(std::pow(50.0 * 100 / 3 * 25 * 25, 0.25)).epsilon(1e-12));  // 31.95
    CHECK(s.score != doctest::Approx((100 + second.score) / 2));  // 65.98 would be the average
}

TEST_CASE("BLEU: tokenisation makes attached and detached punctuation equal; hyphenated words stay one token") {
    CHECK(bleu({"Beth-el, the God’s house."}, {"Beth-el , the God’s house ."}) == doctest::Approx(100.0));
    // "Beth-el" is one token, so "Beth - el" (three tokens) matches none of it.
    const BleuScore split = corpus_bleu({"Beth - el"}, {"Beth-el"});
    CHECK(split.stats.matches == Counts{0, 0, 0, 0});
    CHECK(split.score == 0.0);
}

TEST_CASE("BLEU: case-sensitive, and a hypothesis without 4-grams scores 0 (no effective order)") {
    // Only "." matches when the case differs.
    CHECK(corpus_bleu({"THE DOG BIT THE MAN."}, {"The dog bit the man."}).stats.matches == Counts{1, 0, 0, 0});
    // 3 tokens: 1-, 2-, 3-grams all match but there are no 4-grams, so log p4 = log 0.
    const BleuScore s = corpus_bleu({"a b c"}, {"a b c d e f"});
    CHECK(s.precisions[2] == 100.0);
    CHECK(s.precisions[3] == 0.0);
    CHECK(s.score < 1e-100);
}

TEST_CASE("BLEU: mismatched or empty inputs are refused") {
    CHECK_THROWS_WITH_AS(corpus_bleu({"a", "b"}, {"a"}), doctest::Contains("2 hypotheses but 1 references"), Error);
    CHECK_THROWS_WITH_AS(corpus_bleu(Lines{}, Lines{}), doctest::Contains("no hypotheses"), Error);
}

// ---- BLEU, sacreBLEU's published values

TEST_CASE("BLEU matches sacreBLEU's test suite") {
    // test_bleu.py, test_corpus_bleu_cases: the README example, two references.
    const Lines hyps = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
    const std::vector<Lines> refs = {{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
                                     {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};
    CHECK(corpus_bleu_multi(hyps, refs).score == doctest::Approx(48.530827).epsilon(1e-8));
    CHECK(corpus_bleu_multi({"", "", ""}, refs).score == 0.0);
    // test_case_statistics.
    const BleuScore st = corpus_bleu({"am I am a character sequence"}, {"I am a symbol string sequence a a"});
    CHECK(st.stats.matches == Counts{4, 2, 1, 0});
    CHECK(st.stats.totals == Counts{6, 5, 4, 3});
    // test_case_scoring: compute_bleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11) = 0.8375922397 (x 100).
    BleuStats stats;
    stats.matches = {9, 7, 5, 3};
    stats.totals = {10, 8, 6, 4};
    stats.hyp_len = stats.ref_len = 11;
    CHECK(bleu_from_stats(stats).score == doctest::Approx(83.75922397).epsilon(1e-9));
    // test_sentence_bleu.py (issue #98): smooth 'exp', tokenizer 13a -> 8.493 (+-1e-3).
    CHECK(bleu({"Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"},
               {"producţia de zahăr brut se exprimă în zahăr alb;"}) == doctest::Approx(8.493).epsilon(1e-4));
    // test_sentence_bleu.py (issue #141): nothing in common -> 0.
    CHECK(bleu({"this is a cat"}, {"okay thanks"}) == 0.0);
}

// ---- chrF

TEST_CASE("chrF: hand-computed cases with beta = 2") {
    // abc | abd: 1-grams 2/3 both ways, 2-grams 1/2, 3-grams 0; no 4..6-grams. P = R = 7/18.
    CHECK(chrf({"abc"}, {"abd"}) == doctest::Approx(100.0 * 7 / 18).epsilon(1e-12));
    // ab | abcd: P = (1 + 1) / 2 = 1, R = (2/4 + 1/3) / 2 = 5/12 (no hypothesis 3-grams);
    // F2 = 5 P R / (4 P + R) = 47.17.
    const double p = 1, r = 5.0 / 12;
    CHECK(chrf({"ab"}, {"abcd"}) == doctest::Approx(100 * 5 * p * r / (4 * p + r)).epsilon(1e-12));
    // Beta weighs recall: the same statistics with beta = 1 give the plain harmonic mean.
    CHECK(chrf({"ab"}, {"abcd"}, 1) == doctest::Approx(100 * 2 * p * r / (p + r)).epsilon(1e-12));
    // abcdef | ab: the reference has no 3..6-grams, so neither does the hypothesis count any:
    // P = (2/6 + 1/5) / 2 = 4/15, R = 1; F2 = 5 (4/15) / (16/15 + 1) = 64.52.
    CHECK(chrf({"abcdef"}, {"ab"}) == doctest::Approx(100 * 5 * (4.0 / 15) / (16.0 / 15 + 1)).epsilon(1e-12));
    CHECK(chrf({"Niemand hat die Absicht"}, {"Niemand hat die Absicht"}) == doctest::Approx(100.0));
    CHECK(chrf({"xyz"}, {"abc"}) == 0.0);
    CHECK(chrf({""}, {"abc"}) == 0.0);
}

TEST_CASE("chrF: whitespace is removed and corpus statistics are summed") {
    CHECK(chrf({"a b c"}, {"abc"}) == doctest::Approx(100.0));
    CHECK(chrf({"ab  c"}, {"a\u00a0bc"}) == doctest::Approx(100.0));
    // Summed: 1-grams 1/2 both ways; no 2-grams in either reference. Averaging the two
    // sentence scores (100 and 0) would give 50 too, so also check the statistics.
    const ChrfScore s = corpus_chrf({"a", "b"}, {"a", "c"});
    CHECK(s.score == doctest::Approx(50.0));
    CHECK(s.stats.orders[0] == std::array<std::size_t, 3>{2, 2, 1});
    // abc+abd summed with ab|abcd differs from the mean of the two sentence scores.
    const double summed = chrf({"abc", "ab"}, {"abd", "abcd"});
    CHECK(summed != doctest::Approx((chrf({"abc"}, {"abd"}) + chrf({"ab"}, {"abcd"})) / 2));
    CHECK(s.format() == "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|impl:tapegrad = 50.00");
}

TEST_CASE("chrF matches sacreBLEU's test suite (effective-order mode, the 2.x default; beta = 3 there)") {
    CHECK(chrf({"a"}, {"a"}, 3) == doctest::Approx(100.0));
    CHECK(chrf({""}, {"reference"}, 3) == 0.0);
    CHECK(chrf({"a b c"}, {"a b c"}, 3) == doctest::Approx(100.0));
    CHECK(chrf({"a b c"}, {"abc"}, 3) == doctest::Approx(100.0));
    CHECK(chrf({""}, {"c"}, 3) == 0.0);
    CHECK(chrf({"a", "b"}, {"a", "c"}, 3) == doctest::Approx(50.0));
    CHECK(chrf({"aa"}, {"ab"}, 3) == doctest::Approx(25.0));
    CHECK_THROWS_WITH_AS(corpus_chrf({"a"}, Lines{}), doctest::Contains("1 hypotheses but 0 references"), Error);
}

TEST_CASE("paired bootstrap: identical systems never differ; a perfect system always wins; whole-set scores are corpus BLEU") {
    const std::vector<std::string> refs = {"the cat sat on the mat today", "a dog ran in the park at noon",
                                           "it rained all day in the city", "we went home after the long game",
                                           "she read the book by the window"};
    const std::vector<std::string> weak = {"the cat sat on a mat", "a dog in the park", "it rained all day long",
                                           "we went home", "she read a book by the door"};
    const PairedBootstrap same = paired_bootstrap_bleu(weak, weak, refs, 200, 3);
    CHECK(same.bleu_a == same.bleu_b);
    CHECK(same.diff_low == 0.0);
    CHECK(same.diff_high == 0.0);
    CHECK(same.b_wins == 0.0);  // a tie is not a win
    const PairedBootstrap better = paired_bootstrap_bleu(weak, refs, refs, 200, 3);
    CHECK(better.bleu_a == doctest::Approx(corpus_bleu(weak, refs).score));
    CHECK(better.bleu_b == doctest::Approx(100.0));
    CHECK(better.b_wins == 1.0);
    CHECK(better.diff_low > 0.0);
    CHECK(better.diff_low <= better.diff_high);
    CHECK(better.diff_high <= 100.0);
    // The order matters: A and B swapped give the mirror image.
    const PairedBootstrap worse = paired_bootstrap_bleu(refs, weak, refs, 200, 3);
    CHECK(worse.b_wins == 0.0);
    CHECK(worse.diff_high == doctest::Approx(-better.diff_low));
    // One sentence: every resample is that sentence, so the interval is the one difference.
    const PairedBootstrap one = paired_bootstrap_bleu({weak[0]}, {refs[0]}, {refs[0]}, 50, 3);
    CHECK(one.diff_low == doctest::Approx(one.bleu_b - one.bleu_a));
    CHECK(one.diff_high == doctest::Approx(one.bleu_b - one.bleu_a));
    CHECK(better.format().find("B higher in 100.0% of them, tied in 0.0%") != std::string::npos);
    CHECK(same.ties == 1.0);
    CHECK_THROWS_WITH_AS(paired_bootstrap_bleu(weak, refs, {refs[0]}, 10), doctest::Contains("5 and 5 hypotheses for 1 references"), Error);
    CHECK_THROWS_WITH_AS(paired_bootstrap_bleu({}, {}, {}, 10), doctest::Contains("no sentences"), Error);
    CHECK_THROWS_WITH_AS(paired_bootstrap_bleu(weak, weak, refs, 0), doctest::Contains("at least one resample"), Error);
}

TEST_CASE("paired bootstrap: each resample is corpus BLEU of N drawn sentences, the same ones for both systems") {
    // Two systems each better on different sentences, so that B wins some resamples and
    // loses others; the oracle redraws the same indices and scores the lists themselves.
    const std::vector<std::string> refs = {"the cat sat on the mat today", "a dog ran in the park at noon",
                                           "it rained all day in the city", "we went home after the long game",
                                           "she read the book by the window", "they sang a song at the end of it"};
    const std::vector<std::string> a = {"the cat sat on the mat today", "a dog in a park", "it rained all day in the city",
                                        "we went home", "she read the book by the window", "they sang"};
    const std::vector<std::string> b = {"the cat sat on a mat", "a dog ran in the park at noon", "it rained",
                                        "we went home after the long game", "she read a book", "they sang a song at the end of it"};
    const std::size_t samples = 400;
    const PairedBootstrap r = paired_bootstrap_bleu(a, b, refs, samples, 11);
    std::mt19937_64 rng(11);
    std::vector<double> diffs;
    std::size_t wins = 0;
    for (std::size_t s = 0; s < samples; ++s) {
        std::vector<std::string> ra, rb, rr;
        for (std::size_t k = 0; k < refs.size(); ++k) {
            const std::size_t i = resample_index(rng, refs.size());
            ra.push_back(a[i]);
            rb.push_back(b[i]);
            rr.push_back(refs[i]);
        }
        diffs.push_back(corpus_bleu(rb, rr).score - corpus_bleu(ra, rr).score);
        wins += diffs.back() > 0.0;
    }
    std::sort(diffs.begin(), diffs.end());
    CHECK(r.b_wins == doctest::Approx(static_cast<double>(wins) / samples));
    CHECK(r.b_wins > 0.05);
    CHECK(r.b_wins < 0.95);
    CHECK(r.diff_low == doctest::Approx(diffs[10]));   // 2.5% of 400 resamples below ...
    CHECK(r.diff_high == doctest::Approx(diffs[389])); // ... and as many above
    CHECK(r.diff_low < 0.0);
    CHECK(r.diff_high > 0.0);
    // Another seed draws other sentences.
    const PairedBootstrap other = paired_bootstrap_bleu(a, b, refs, samples, 12);
    CHECK((other.b_wins != r.b_wins || other.diff_low != r.diff_low || other.diff_high != r.diff_high));
}
