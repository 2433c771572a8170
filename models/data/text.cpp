#include "models/data/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/random.hpp"
#include "models/data/utf8.hpp"

namespace tapegrad::models::data {

namespace {

std::string hex(unsigned char c) {
    const char* d = "0123456789abcdef";
    return std::string("0x") + d[c >> 4] + d[c & 15];
}

// Reads the next line (without its '\n') into `line`, keeping at most limit + 1 of its
// bytes however long it is, so a file without line breaks is refused without being
// held in memory. Returns the line's full length, or npos at the end of the file or
// on a read error (in.bad()).
std::size_t next_line(std::istream& in, std::string& line, std::size_t limit) {
    line.clear();
    std::size_t length = 0;
    char buf[4096];
    for (;;) {
        in.getline(buf, sizeof buf);
        const auto got = static_cast<std::size_t>(in.gcount());
        if (in.bad()) return std::string::npos;
        const bool full = in.fail() && !in.eof();  // sizeof buf - 1 bytes stored, the line goes on
        const std::size_t stored = full || in.eof() ? got : got - 1;  // else the '\n' was counted too
        if (line.size() <= limit) line.append(buf, std::min(stored, limit + 1 - line.size()));
        length += stored;
        if (full) {
            in.clear();
            continue;
        }
        if (in.eof() && got == 0 && length == 0) return std::string::npos;  // no line left
        in.clear(in.rdstate() & ~std::ios::failbit);
        return length;
    }
}

}  // namespace

namespace {

// Calls take(line) for each checked line of the file, in order, without holding the
// whole file: read_sentences keeps only the tokens.
template <class Take>
void for_each_line(const std::string& path, const ReadOptions& o, Take take) {
    if (std::filesystem::is_directory(path)) throw Error(path + ": cannot open: it is a folder, not a text file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
    std::string line;
    std::size_t number = 0;
    for (std::size_t length; (length = next_line(in, line, o.max_line_bytes)) != std::string::npos;) {
        ++number;
        const std::string where = path + ":" + std::to_string(number) + ": ";
        if (length > o.max_line_bytes)
            throw Error(where + "line of " + std::to_string(length) + " bytes is longer than the limit of " +
                        std::to_string(o.max_line_bytes) + " (not a one-sentence-per-line text file?)");
        for (std::size_t i = 0; i < line.size();) {
            if (line[i] == '\0') throw Error(where + "NUL byte at column " + std::to_string(i + 1) + " (a binary file?)");
            const std::size_t n = utf8_length(line, i);
            if (n == 0)
                throw Error(where + "byte " + hex(static_cast<unsigned char>(line[i])) + " at column " + std::to_string(i + 1) +
                            " is not valid UTF-8");
            i += n;
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        take(line);
    }
    if (in.bad()) throw Error(path + ": read error after line " + std::to_string(number) + ": " + std::strerror(errno));
    if (number == 0) throw Error(path + ": the file is empty");
}

}  // namespace

std::vector<std::string> read_lines(const std::string& path, const ReadOptions& o) {
    std::vector<std::string> out;
    for_each_line(path, o, [&](std::string& line) { out.push_back(std::move(line)); });
    return out;
}

std::vector<Tokens> read_sentences(const std::string& path, const ReadOptions& o) {
    std::vector<Tokens> out;
    for_each_line(path, o, [&](std::string& line) {
        if (o.lower_case)
            for (char& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::istringstream words(line);
        Tokens t;
        for (std::string w; words >> w;) t.push_back(std::move(w));
        out.push_back(std::move(t));
    });
    return out;
}

Vocabulary Vocabulary::build(const std::vector<Tokens>& sentences, std::size_t min_count) {
    std::unordered_map<std::string, std::size_t> count;
    std::vector<std::string> order;
    for (const Tokens& s : sentences)
        for (const std::string& w : s)
            if (count[w]++ == 0) order.push_back(w);
    std::vector<std::string> words = {"<pad>", "<unk>", "<sos>", "<eos>"};
    for (const std::string& w : order)
        if (count[w] >= min_count && std::find(words.begin(), words.begin() + 4, w) == words.begin() + 4) words.push_back(w);
    return from_words(std::move(words));
}

Vocabulary Vocabulary::from_words(std::vector<std::string> words) {
    if (words.size() < 4 || words[0] != "<pad>" || words[1] != "<unk>" || words[2] != "<sos>" || words[3] != "<eos>")
        throw Error("Vocabulary: the word list must start with <pad> <unk> <sos> <eos>");
    Vocabulary v;
    v.words_ = std::move(words);
    for (std::size_t i = 0; i < v.words_.size(); ++i)
        if (!v.ids_.emplace(v.words_[i], static_cast<std::int64_t>(i)).second)
            throw Error("Vocabulary: the word '" + v.words_[i] + "' appears twice");
    return v;
}

std::int64_t Vocabulary::id(const std::string& w) const {
    auto it = ids_.find(w);
    return it == ids_.end() ? unk : it->second;
}

const std::string& Vocabulary::word(std::int64_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= words_.size())
        throw Error("Vocabulary: id " + std::to_string(id) + " is not in [0, " + std::to_string(words_.size()) + ")");
    return words_[static_cast<std::size_t>(id)];
}

std::vector<std::int64_t> Vocabulary::encode(const Tokens& tokens) const {
    std::vector<std::int64_t> ids;
    ids.reserve(tokens.size());
    for (const std::string& w : tokens) ids.push_back(id(w));
    return ids;
}

std::string Vocabulary::decode(const std::vector<std::int64_t>& ids) const {
    std::string out;
    for (std::int64_t i : ids) {
        if (i == eos || i == pad) break;
        if (!out.empty()) out += ' ';
        out += word(i);
    }
    return out;
}

std::size_t TextBatch::tokens() const {
    std::size_t n = 0;
    for (auto l : lengths) n += l;
    return n;
}

Indices TextBatch::real_rows() const {
    const std::size_t T = inputs.dimension() == 2 ? inputs.shape()[1] : 0;
    Indices rows = Indices::from_shape({tokens()});
    std::size_t n = 0;
    for (std::size_t i = 0; i < size(); ++i)
        for (std::size_t t = 0; t < lengths[i]; ++t) rows(n++) = static_cast<std::int64_t>(i * T + t);
    return rows;
}

Indices TextBatch::real_targets() const {
    const std::size_t T = targets.dimension() == 2 ? targets.shape()[1] : 0;
    Indices t = Indices::from_shape({tokens()});
    std::size_t n = 0;
    for (std::size_t i = 0; i < size(); ++i)
        for (std::size_t k = 0; k < lengths[i]; ++k) t(n++) = targets(i * T + k);
    return t;
}

SentenceDataset::SentenceDataset(const std::vector<Tokens>& sentences, const Vocabulary& vocab, std::size_t max_length) {
    if (max_length < 1) throw Error("SentenceDataset: max_length must be at least 1");
    offsets_.reserve(sentences.size() + 1);
    offsets_.push_back(0);
    for (const Tokens& t : sentences) {
        // <sos> + words is cut to max_length, so at most max_length - 1 words stay.
        const std::size_t keep = std::min(t.size(), max_length - 1);
        for (std::size_t k = 0; k < keep; ++k) words_.push_back(static_cast<std::int32_t>(vocab.id(t[k])));
        offsets_.push_back(words_.size());
    }
    words_.shrink_to_fit();
}

Sentence SentenceDataset::operator[](std::size_t i) const {
    if (i >= size()) throw Error("SentenceDataset: sentence " + std::to_string(i) + " out of range");
    Sentence s;
    s.input.push_back(Vocabulary::sos);
    for (std::size_t k = offsets_[i]; k < offsets_[i + 1]; ++k) {
        s.input.push_back(words_[k]);
        s.target.push_back(words_[k]);
    }
    s.target.push_back(Vocabulary::eos);
    return s;
}

std::size_t SentenceDataset::tokens() const { return words_.size() + size(); }

TextBatch SentenceDataset::batch(const std::vector<std::size_t>& rows) const {
    TextBatch b;
    std::size_t T = 0;
    for (auto r : rows) {
        if (r >= size()) throw Error("SentenceDataset::batch: row " + std::to_string(r) + " out of range");
        T = std::max(T, length(r));
    }
    b.inputs = xt::zeros<std::int64_t>({rows.size(), T});
    b.targets = xt::zeros<std::int64_t>({rows.size(), T});
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::size_t from = offsets_[rows[i]], n = offsets_[rows[i] + 1] - from;
        std::int64_t* in = b.inputs.data() + i * T;
        std::int64_t* out = b.targets.data() + i * T;
        in[0] = Vocabulary::sos;
        for (std::size_t k = 0; k < n; ++k) in[k + 1] = out[k] = words_[from + k];
        out[n] = Vocabulary::eos;
        b.lengths.push_back(n + 1);
    }
    b.rows = rows;
    return b;
}

std::vector<std::vector<std::size_t>> plan_batches(const SentenceDataset& data, std::size_t batch_size, bool shuffle,
                                                   std::uint64_t seed, bool bucketing) {
    if (batch_size == 0) throw Error("plan_batches: batch size must be positive");
    autograd::Generator g(seed);
    std::vector<std::size_t> rows(data.size());
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    auto shuffle_in_place = [&](auto& v) {
        for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[g.below(i)]);
    };
    if (shuffle) shuffle_in_place(rows);
    if (bucketing) {
        const std::size_t pool = 50 * batch_size;
        for (std::size_t p = 0; p < rows.size(); p += pool) {
            auto end = rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), p + pool));
            std::stable_sort(rows.begin() + static_cast<std::ptrdiff_t>(p), end,
                             [&](auto a, auto b) { return data.length(a) < data.length(b); });
        }
    }
    std::vector<std::vector<std::size_t>> batches;
    for (std::size_t i = 0; i < rows.size(); i += batch_size)
        batches.emplace_back(rows.begin() + static_cast<std::ptrdiff_t>(i),
                             rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + batch_size)));
    if (bucketing && shuffle) shuffle_in_place(batches);
    return batches;
}

}  // namespace tapegrad::models::data
