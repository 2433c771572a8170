#include "models/data/parallel.hpp"

#include <string_view>

#include "models/data/utf8.hpp"

namespace tapegrad::models::data {

namespace {

bool is_punctuation(char32_t c) {
    if (c < 0x80) return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
    switch (c) {
        case U'¡': case U'¿': case U'«': case U'»': case U'‹': case U'›': case U'…':
            return true;
        default:
            return (c >= 0x2010 && c <= 0x2015) || (c >= 0x2018 && c <= 0x201f);  // dashes, quotation marks
    }
}

bool is_word(char32_t c) { return !is_space(c) && !is_punctuation(c); }

// Kept inside a word when a letter or digit stands on both sides.
bool joins_word(char32_t c) { return c == U'\'' || c == U'’' || c == U'-'; }

enum class Attach { none, left, right, both, straight_quote };

Attach attachment(const std::string& token) {
    static const std::vector<std::string_view> left = {".", ",", ";", ":", "!", "?", ")", "]", "}",
                                                       "”", "’", "»", "›", "…", "%"};
    static const std::vector<std::string_view> right = {"(", "[", "{", "“", "‘", "«", "‹", "¿", "¡", "„", "‚"};
    static const std::vector<std::string_view> both = {"—", "–", "‐", "‑", "‒", "―", "-", "/"};
    auto in = [&](const auto& set) {
        for (std::string_view s : set)
            if (token == s) return true;
        return false;
    };
    if (in(left)) return Attach::left;
    if (in(right)) return Attach::right;
    if (in(both)) return Attach::both;
    if (token == "\"" || token == "'") return Attach::straight_quote;
    return Attach::none;
}

}  // namespace

Tokens tokenize(const std::string& text) {
    const std::u32string s = decode_utf8(text);
    Tokens out;
    std::u32string word;
    auto flush = [&] {
        if (!word.empty()) out.push_back(encode_utf8(word));
        word.clear();
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char32_t c = s[i];
        if (is_space(c)) {
            flush();
        } else if (is_word(c)) {
            word += c;
        } else if (joins_word(c) && !word.empty() && i + 1 < s.size() && is_word(s[i + 1])) {
            word += c;
        } else {
            flush();
            out.push_back(encode_utf8(std::u32string(1, c)));
        }
    }
    flush();
    return out;
}

std::string detokenize(const Tokens& tokens) {
    std::string out;
    bool glue_next = true;     // no space before the next token (start of text, after an opening mark)
    bool quote_open[2] = {};   // a straight " or ' is open
    for (const std::string& t : tokens) {
        Attach a = attachment(t);
        if (a == Attach::straight_quote) {
            bool& open = quote_open[t == "'" ? 1 : 0];
            a = open ? Attach::left : Attach::right;
            open = !open;
        }
        if (!glue_next && a != Attach::left && a != Attach::both) out += ' ';
        out += t;
        glue_next = a == Attach::right || a == Attach::both;
    }
    return out;
}

ParallelCorpus read_parallel(const std::string& source_path, const std::string& target_path) {
    ParallelCorpus c;
    c.source = read_lines(source_path);
    c.target = read_lines(target_path);
    if (c.source.size() != c.target.size())
        throw Error("read_parallel: " + source_path + " has " + std::to_string(c.source.size()) + " lines but " +
                    target_path + " has " + std::to_string(c.target.size()) +
                    ": the files are not aligned (line i of one must translate line i of the other)");
    auto blank = [](const std::string& line) {
        for (char32_t ch : decode_utf8(line))
            if (!is_space(ch)) return false;
        return true;
    };
    for (std::size_t i = 0; i < c.size(); ++i)
        for (const auto& [path, line] : {std::pair{&source_path, &c.source[i]}, std::pair{&target_path, &c.target[i]}})
            if (blank(*line))
                throw Error("read_parallel: " + *path + ":" + std::to_string(i + 1) +
                            ": empty line (every line must hold a sentence; in aligned files a blank line is "
                            "usually a lost or extra line)");
    return c;
}

ParallelCorpus read_parallel_split(const std::string& dir, const std::string& split, const std::string& source_lang,
                                   const std::string& target_lang) {
    if (split != "train" && split != "valid" && split != "test")
        throw Error("read_parallel_split: split '" + split + "' is not train, valid or test");
    const std::string stem = dir + "/" + split + ".";
    return read_parallel(stem + source_lang, stem + target_lang);
}

std::vector<Tokens> tokenize_lines(const std::vector<std::string>& lines) {
    std::vector<Tokens> out;
    out.reserve(lines.size());
    for (const std::string& line : lines) out.push_back(tokenize(line));
    return out;
}

ParallelDataset::ParallelDataset(SentenceDataset s, SentenceDataset t, bool b)
    : source(std::move(s)), target(std::move(t)), bucketing(b) {
    if (source.size() != target.size())
        throw Error("ParallelDataset: " + std::to_string(source.size()) + " source sentences but " +
                    std::to_string(target.size()) + " target sentences");
}

Batch ParallelDataset::batch(const std::vector<std::size_t>& rows) const {
    Batch b;
    b.rows = rows;
    b.source = source.batch(rows);
    b.text = target.batch(rows);
    return b;
}

std::vector<std::vector<std::size_t>> ParallelDataset::plan(std::size_t batch_size, bool shuffle, std::uint64_t seed) const {
    return plan_batches(target, batch_size, shuffle, seed, bucketing);
}

std::string ParallelDataset::describe() const {
    return std::to_string(size()) + " sentence pairs, " + std::to_string(source.tokens()) + " source and " +
           std::to_string(target.tokens()) + " target tokens";
}

}  // namespace tapegrad::models::data
