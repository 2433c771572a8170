#include "models/eval/chrf.hpp"

#include <cstdio>
#include <string_view>
#include <unordered_map>

#include "autograd/array.hpp"  // tapegrad::Error
#include "models/data/utf8.hpp"

namespace tapegrad::models::eval {

namespace {

using Counts = std::unordered_map<std::u32string_view, std::size_t>;

// sacreBLEU's extract_all_char_ngrams with include_whitespace = False: ''.join(line.split()).
std::u32string without_whitespace(const std::string& line) {
    std::u32string out;
    for (char32_t c : data::decode_utf8(line))
        if (!data::is_space(c)) out += c;
    return out;
}

// Counts of the n-grams of each order 1..max_order; the views point into s.
std::vector<Counts> char_ngrams(const std::u32string& s, std::size_t max_order) {
    std::vector<Counts> counts(max_order);
    const std::u32string_view v(s);
    for (std::size_t n = 1; n <= max_order; ++n)
        for (std::size_t i = 0; i + n <= v.size(); ++i) ++counts[n - 1][v.substr(i, n)];
    return counts;
}

ChrfStats match(const std::vector<Counts>& hyp, const std::vector<Counts>& ref) {
    ChrfStats s;
    for (std::size_t n = 0; n < hyp.size(); ++n) {
        std::size_t hyp_count = 0, ref_count = 0, matches = 0;
        for (const auto& [gram, count] : hyp[n]) {
            hyp_count += count;
            if (auto it = ref[n].find(gram); it != ref[n].end()) matches += std::min(count, it->second);
        }
        for (const auto& [gram, count] : ref[n]) ref_count += count;
        // sacreBLEU's CHRF._get_match_statistics: "Don't count hits if no reference exists for that n-gram".
        s.orders.push_back({ref[n].empty() ? 0 : hyp_count, ref_count, matches});
    }
    return s;
}

void check_options(const ChrfOptions& o) {
    if (o.char_order == 0) throw Error("chrF: char_order must be at least 1");
    if (!(o.beta > 0)) throw Error("chrF: beta must be positive");
}

}  // namespace

ChrfStats& ChrfStats::operator+=(const ChrfStats& o) {
    if (orders.empty()) orders.resize(o.orders.size());
    if (orders.size() != o.orders.size())
        throw Error("ChrfStats: adding statistics of " + std::to_string(o.orders.size()) + " orders to " +
                    std::to_string(orders.size()));
    for (std::size_t n = 0; n < orders.size(); ++n)
        for (std::size_t k = 0; k < 3; ++k) orders[n][k] += o.orders[n][k];
    return *this;
}

ChrfStats chrf_stats(const std::string& hypothesis, const std::vector<std::string>& references, const ChrfOptions& o) {
    check_options(o);
    if (references.empty()) throw Error("chrf_stats: no reference");
    const std::u32string hyp_text = without_whitespace(hypothesis);
    const auto hyp = char_ngrams(hyp_text, o.char_order);
    ChrfStats best;
    double best_f = -1;
    for (const std::string& r : references) {
        const std::u32string ref_text = without_whitespace(r);
        ChrfStats s = match(hyp, char_ngrams(ref_text, o.char_order));
        const double f = chrf_from_stats(s, o);
        if (f > best_f) {
            best_f = f;
            best = std::move(s);
        }
    }
    return best;
}

double chrf_from_stats(const ChrfStats& stats, const ChrfOptions& o) {
    check_options(o);
    double precision = 0, recall = 0;
    std::size_t effective = 0;
    for (const auto& [hyp, ref, matches] : stats.orders) {
        if (hyp > 0 && ref > 0) {
            precision += static_cast<double>(matches) / static_cast<double>(hyp);
            recall += static_cast<double>(matches) / static_cast<double>(ref);
            ++effective;
        }
    }
    if (effective == 0) return 0.0;
    precision /= static_cast<double>(effective);
    recall /= static_cast<double>(effective);
    if (precision + recall == 0) return 0.0;
    const double b2 = o.beta * o.beta;
    return 100 * ((1 + b2) * precision * recall) / (b2 * precision + recall);
}

ChrfScore corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                      const ChrfOptions& o) {
    return corpus_chrf_multi(hypotheses, {references}, o);
}

ChrfScore corpus_chrf_multi(const std::vector<std::string>& hypotheses,
                            const std::vector<std::vector<std::string>>& reference_streams, const ChrfOptions& o) {
    check_options(o);
    if (reference_streams.empty()) throw Error("corpus_chrf: no reference stream");
    if (hypotheses.empty()) throw Error("corpus_chrf: no hypotheses");
    for (std::size_t r = 0; r < reference_streams.size(); ++r)
        if (reference_streams[r].size() != hypotheses.size())
            throw Error("corpus_chrf: " + std::to_string(hypotheses.size()) + " hypotheses but " +
                        std::to_string(reference_streams[r].size()) + " references" +
                        (reference_streams.size() > 1 ? " in stream " + std::to_string(r + 1) : std::string()) +
                        " (one reference line per hypothesis line)");
    ChrfScore score;
    score.stats.orders.resize(o.char_order);
    std::vector<std::string> refs(reference_streams.size());
    for (std::size_t i = 0; i < hypotheses.size(); ++i) {
        for (std::size_t r = 0; r < refs.size(); ++r) refs[r] = reference_streams[r][i];
        score.stats += chrf_stats(hypotheses[i], refs, o);
    }
    score.score = chrf_from_stats(score.stats, o);
    return score;
}

std::string ChrfScore::format(const ChrfOptions& o, std::size_t references) const {
    char buf[256];
    std::snprintf(buf, sizeof buf, "chrF%g|nrefs:%zu|case:mixed|eff:yes|nc:%zu|nw:0|space:no|impl:tapegrad = %.2f", o.beta,
                  references, o.char_order, score);
    return buf;
}

}  // namespace tapegrad::models::eval
