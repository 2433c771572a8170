#include "models/eval/bleu.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>

#include "autograd/array.hpp"  // tapegrad::Error
#include "models/data/utf8.hpp"

namespace tapegrad::models::eval {

namespace {

using data::decode_utf8;
using data::encode_utf8;
using data::is_space;

void replace_all(std::u32string& s, std::u32string_view from, std::u32string_view to) {
    for (std::size_t at = s.find(from); at != std::u32string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }

// The character class of sacreBLEU's first regular expression, [\{-\~\[-\` -\&\(-\+\:-\@\/].
bool split_around(char32_t c) {
    return (c >= 0x7b && c <= 0x7e) || (c >= 0x5b && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
           (c >= 0x28 && c <= 0x2b) || (c >= 0x3a && c <= 0x40) || c == U'/';
}

// re.sub(r'(A)(B)', replacement, s): leftmost, non-overlapping matches of two characters.
template <class Match, class Emit>
std::u32string substitute_pairs(const std::u32string& s, Match match, Emit emit) {
    std::u32string out;
    out.reserve(s.size() + s.size() / 4);
    std::size_t i = 0;
    for (; i + 1 < s.size(); ++i) {
        if (match(s[i], s[i + 1])) {
            emit(out, s[i], s[i + 1]);
            ++i;
        } else {
            out += s[i];
        }
    }
    if (i < s.size()) out += s[i];
    return out;
}

bool is_period_or_comma(char32_t c) { return c == U'.' || c == U','; }

using Counts = std::map<std::string, std::size_t>;

// All n-grams of orders 1..4, keyed by their tokens joined with spaces (tokens hold none).
Counts ngrams(const std::vector<std::string>& tokens) {
    Counts counts;
    for (std::size_t n = 1; n <= bleu_max_order; ++n)
        for (std::size_t i = 0; i + n <= tokens.size(); ++i) {
            std::string key = tokens[i];
            for (std::size_t k = 1; k < n; ++k) key += ' ' + tokens[i + k];
            ++counts[key];
        }
    return counts;
}

std::size_t order_of(const std::string& key) {
    std::size_t n = 1;
    for (char c : key) n += c == ' ';
    return n;
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

void check_streams(const char* what, std::size_t hypotheses, const std::vector<std::vector<std::string>>& streams) {
    if (streams.empty()) throw Error(std::string(what) + ": no reference stream");
    if (hypotheses == 0) throw Error(std::string(what) + ": no hypotheses");
    for (std::size_t r = 0; r < streams.size(); ++r)
        if (streams[r].size() != hypotheses)
            throw Error(std::string(what) + ": " + std::to_string(hypotheses) + " hypotheses but " +
                        std::to_string(streams[r].size()) + " references" +
                        (streams.size() > 1 ? " in stream " + std::to_string(r + 1) : std::string()) +
                        " (one reference line per hypothesis line)");
}

}  // namespace

std::vector<std::string> tokenize_13a(const std::string& text) {
    std::u32string s = decode_utf8(text);
    while (!s.empty() && is_space(s.back())) s.pop_back();  // BLEU._preprocess_segment: sent.rstrip()
    replace_all(s, U"<skipped>", U"");
    replace_all(s, U"-\n", U"");
    replace_all(s, U"\n", U" ");
    if (s.find(U'&') != std::u32string::npos) {
        replace_all(s, U"&quot;", U"\"");
        replace_all(s, U"&amp;", U"&");
        replace_all(s, U"&lt;", U"<");
        replace_all(s, U"&gt;", U">");
    }
    std::u32string t = U" ";
    for (char32_t c : s) {
        if (split_around(c)) {
            t += U' ';
            t += c;
            t += U' ';
        } else {
            t += c;
        }
    }
    t += U' ';
    // ([^0-9])([\.,]) -> '\1 \2 '
    t = substitute_pairs(
        t, [](char32_t a, char32_t b) { return !is_digit(a) && is_period_or_comma(b); },
        [](std::u32string& o, char32_t a, char32_t b) { o += a, o += U' ', o += b, o += U' '; });
    // ([\.,])([^0-9]) -> ' \1 \2'
    t = substitute_pairs(
        t, [](char32_t a, char32_t b) { return is_period_or_comma(a) && !is_digit(b); },
        [](std::u32string& o, char32_t a, char32_t b) { o += U' ', o += a, o += U' ', o += b; });
    // ([0-9])(-) -> '\1 \2 '
    t = substitute_pairs(
        t, [](char32_t a, char32_t b) { return is_digit(a) && b == U'-'; },
        [](std::u32string& o, char32_t a, char32_t b) { o += a, o += U' ', o += b, o += U' '; });
    std::vector<std::string> tokens;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= t.size(); ++i)
        if (i == t.size() || is_space(t[i])) {
            if (i > start) tokens.push_back(encode_utf8(std::u32string_view(t).substr(start, i - start)));
            start = i + 1;
        }
    return tokens;
}

BleuStats& BleuStats::operator+=(const BleuStats& o) {
    hyp_len += o.hyp_len;
    ref_len += o.ref_len;
    for (std::size_t n = 0; n < bleu_max_order; ++n) {
        matches[n] += o.matches[n];
        totals[n] += o.totals[n];
    }
    return *this;
}

BleuStats bleu_stats(const std::string& hypothesis, const std::vector<std::string>& references) {
    if (references.empty()) throw Error("bleu_stats: no reference");
    Counts ref_counts;
    std::vector<std::size_t> ref_lens;
    for (const std::string& r : references) {
        const auto tokens = tokenize_13a(r);
        ref_lens.push_back(tokens.size());
        for (const auto& [key, count] : ngrams(tokens)) ref_counts[key] = std::max(ref_counts[key], count);
    }
    const auto hyp = tokenize_13a(hypothesis);
    BleuStats s;
    s.hyp_len = hyp.size();
    // The reference length closest to the hypothesis length, the shorter one on a tie.
    std::size_t best_diff = 0;
    bool first = true;
    for (std::size_t len : ref_lens) {
        const std::size_t diff = len > s.hyp_len ? len - s.hyp_len : s.hyp_len - len;
        if (first || diff < best_diff || (diff == best_diff && len < s.ref_len)) {
            best_diff = diff;
            s.ref_len = len;
            first = false;
        }
    }
    for (const auto& [key, count] : ngrams(hyp)) {
        const std::size_t n = order_of(key) - 1;
        s.totals[n] += count;
        if (auto it = ref_counts.find(key); it != ref_counts.end()) s.matches[n] += std::min(count, it->second);
    }
    return s;
}

BleuScore bleu_from_stats(const BleuStats& stats) {
    BleuScore b;
    b.stats = stats;
    const double hyp = static_cast<double>(stats.hyp_len), ref = static_cast<double>(stats.ref_len);
    b.bp = stats.hyp_len < stats.ref_len ? (stats.hyp_len > 0 ? std::exp(1.0 - ref / hyp) : 0.0) : 1.0;
    b.ratio = stats.ref_len > 0 ? hyp / ref : 0.0;
    bool any = false;
    for (std::size_t m : stats.matches) any = any || m > 0;
    if (!any) return b;  // sacreBLEU #141: no match at all scores 0, precisions 0
    double smooth = 1;
    for (std::size_t n = 0; n < bleu_max_order; ++n) {
        if (stats.totals[n] == 0) break;
        const double total = static_cast<double>(stats.totals[n]);
        if (stats.matches[n] == 0) {
            smooth *= 2;
            b.precisions[n] = 100.0 / (smooth * total);
        } else {
            b.precisions[n] = 100.0 * static_cast<double>(stats.matches[n]) / total;
        }
    }
    double sum = 0;
    for (double p : b.precisions) sum += p == 0.0 ? -9999999999.0 : std::log(p);  // sacrebleu.utils.my_log
    b.score = b.bp * std::exp(sum / static_cast<double>(bleu_max_order));
    return b;
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
    return corpus_bleu_multi(hypotheses, {references});
}

BleuScore corpus_bleu_multi(const std::vector<std::string>& hypotheses,
                            const std::vector<std::vector<std::string>>& reference_streams) {
    check_streams("corpus_bleu", hypotheses.size(), reference_streams);
    BleuStats total;
    std::vector<std::string> refs(reference_streams.size());
    for (std::size_t i = 0; i < hypotheses.size(); ++i) {
        for (std::size_t r = 0; r < refs.size(); ++r) refs[r] = reference_streams[r][i];
        total += bleu_stats(hypotheses[i], refs);
    }
    return bleu_from_stats(total);
}

std::string BleuScore::format(std::size_t references) const {
    std::string s = "BLEU|nrefs:" + std::to_string(references) +
                    "|case:mixed|eff:no|tok:13a|smooth:exp|impl:tapegrad = " + fixed(score, 2) + " ";
    for (std::size_t n = 0; n < bleu_max_order; ++n) s += (n ? "/" : "") + fixed(precisions[n], 1);
    s += " (BP = " + fixed(bp, 3) + " ratio = " + fixed(ratio, 3) + " hyp_len = " + std::to_string(stats.hyp_len) +
         " ref_len = " + std::to_string(stats.ref_len) + ")";
    return s;
}

}  // namespace tapegrad::models::eval
