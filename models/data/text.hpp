// Sentences for the sentence VAE: reading Penn Treebank files (Mikolov's format:
// one sentence per line, tokens separated by spaces), the vocabulary, and padded
// batches with their lengths.
// Read next: models/vae/sentence_vae.hpp (the model these batches feed).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "autograd/array.hpp"

namespace tapegrad::models::data {

using Tokens = std::vector<std::string>;

struct ReadOptions {
    std::size_t max_line_bytes = 1 << 16;  // a longer line is refused (a binary or broken file)
    bool lower_case = true;
};

// Every line of a text file split on whitespace. Errors name the file, the line and
// the reason: missing or unreadable file, empty file, bytes that are not UTF-8, a
// NUL byte, a line longer than max_line_bytes.
std::vector<Tokens> read_sentences(const std::string& path, const ReadOptions& options = {});

// Every line of a text file as it is, without its line end ("\n" or "\r\n"); the same
// checks and errors as read_sentences (lower_case is ignored).
std::vector<std::string> read_lines(const std::string& path, const ReadOptions& options = {});

// Words <-> ids. Ids 0..3 are <pad>, <unk>, <sos>, <eos>; then the training words
// in order of first occurrence.
class Vocabulary {
public:
    static constexpr std::int64_t pad = 0, unk = 1, sos = 2, eos = 3;

    // Words seen at least min_count times in `sentences` (min_count 2 keeps the
    // vocabulary of the reference Sentence-VAE: 9972 words on PTB).
    static Vocabulary build(const std::vector<Tokens>& sentences, std::size_t min_count = 2);
    // From a saved word list (its first four entries must be the special tokens).
    static Vocabulary from_words(std::vector<std::string> words);

    std::size_t size() const { return words_.size(); }
    std::int64_t id(const std::string& word) const;  // <unk> for unknown words
    const std::string& word(std::int64_t id) const;
    const std::vector<std::string>& words() const { return words_; }

    std::vector<std::int64_t> encode(const Tokens& tokens) const;
    // Words up to the first <eos> or <pad>, joined by spaces.
    std::string decode(const std::vector<std::int64_t>& ids) const;

private:
    std::vector<std::string> words_;
    std::unordered_map<std::string, std::int64_t> ids_;
};

// A sentence as the model sees it: decoder input <sos> w1 .. wn and target
// w1 .. wn <eos>, both cut to max_length (the target keeps its <eos>).
struct Sentence {
    std::vector<std::int64_t> input, target;
    std::size_t length() const { return input.size(); }
};

struct TextBatch {
    Indices inputs;                    // [B, T], <pad> after each sentence's length
    Indices targets;                   // [B, T]
    std::vector<std::size_t> lengths;  // [B], the true lengths (= target tokens, <eos> included)
    std::vector<std::size_t> rows;     // which dataset sentences these are
    std::size_t size() const { return lengths.size(); }
    std::size_t tokens() const;        // sum of lengths
    // The real (non-pad) positions, sentence by sentence: as rows b * T + t of the
    // [B * T] flattened batch (for take_rows on [B, T, H] decoder states), and
    // the targets there [N]. N = tokens().
    Indices real_rows() const;
    Indices real_targets() const;
};

// Sentences stored compactly: the kept words of all sentences in one int32 buffer
// (4 bytes a token; input and target are built from the same words when batched).
class SentenceDataset {
public:
    SentenceDataset() = default;
    SentenceDataset(const std::vector<Tokens>& sentences, const Vocabulary& vocab, std::size_t max_length);
    std::size_t size() const { return offsets_.empty() ? 0 : offsets_.size() - 1; }
    // Target tokens of sentence i (its kept words + <eos>) = decoder steps.
    std::size_t length(std::size_t i) const { return offsets_[i + 1] - offsets_[i] + 1; }
    Sentence operator[](std::size_t i) const;
    std::size_t tokens() const;  // all target tokens
    // The sentences `rows`, padded to the longest of them.
    TextBatch batch(const std::vector<std::size_t>& rows) const;

private:
    std::vector<std::int32_t> words_;    // kept words (cut to max_length - 1) of every sentence
    std::vector<std::size_t> offsets_;   // sentence i: words_[offsets_[i] .. offsets_[i + 1])
};

// The order of an epoch: rows cut into batches of batch_size (the last may be
// smaller), shuffled with `seed` unless shuffle is false. With bucketing, rows are
// shuffled, then sorted by length within pools of 50 batches, so each batch holds
// sentences of similar length (less padding), and the batches are shuffled again.
std::vector<std::vector<std::size_t>> plan_batches(const SentenceDataset& data, std::size_t batch_size, bool shuffle,
                                                   std::uint64_t seed, bool bucketing = false);

}  // namespace tapegrad::models::data
