// Sentence pairs for translation: reading two aligned files (line i of one translates
// line i of the other, as scripts/get-data writes data/bible-en-es/), and the reversible
// tokenisation the models use: punctuation split into tokens, case kept, and a
// detokeniser that puts the text back together.
// Read next: docs/translation_data.md (the corpus and these rules), models/eval/bleu.hpp.
#pragma once

#include <string>
#include <vector>

#include "models/data/dataset.hpp"
#include "models/data/text.hpp"

namespace tapegrad::models::data {

// Aligned sentences: source[i] translates to target[i]. Lines are the text as printed
// (not tokenised).
struct ParallelCorpus {
    std::vector<std::string> source, target;
    std::size_t size() const { return source.size(); }
};

// Reads two aligned files. Refused, with both file names: different line counts (the
// files are not aligned), an empty or blank line in either (every line must hold a
// sentence; a blank line is how a lost or extra line usually shows), and every error of
// read_lines (missing file, not UTF-8, ...).
ParallelCorpus read_parallel(const std::string& source_path, const std::string& target_path);

// dir/split.source_lang and dir/split.target_lang, e.g. ("data/bible-en-es", "train",
// "en", "es"); split must be train, valid or test.
ParallelCorpus read_parallel_split(const std::string& dir, const std::string& split,
                                   const std::string& source_lang = "en", const std::string& target_lang = "es");

// Tokens of a sentence: split at spaces, then every punctuation mark becomes a token of
// its own ("said," -> "said" ","; "“Let" -> "“" "Let"; "¿Con" -> "¿" "Con"), except an
// apostrophe (' ’) or hyphen (-) with a letter or digit on both sides, which stays inside
// the word ("God’s", "Beth-el"). Punctuation: ASCII punctuation and the Unicode marks
// ¡ ¿ « » ‹ › ‐ ‑ ‒ – — ― ‘ ’ ‚ ‛ “ ” „ ‟ …; every other character belongs to words.
// Case is kept.
Tokens tokenize(const std::string& text);

// Text from tokens: tokens joined by one space, except no space before closing marks
// (. , ; : ! ? ) ] } ” ’ » › … %), none after opening marks (( [ { “ ‘ « ‹ ¿ ¡ „ ‚),
// none on either side of dashes, hyphens and slashes (— – ‐ ‑ ‒ ― - /), and straight
// quotes (" ') alternate: the first of a pair opens, the second closes. For text that
// follows these conventions, detokenize(tokenize(s)) == s (the whole Bible corpus does;
// tests/models/test_parallel.cpp checks it). Punctuation inside numbers is not handled:
// "3:16" comes back as "3: 16" (the corpus has no digits).
std::string detokenize(const Tokens& tokens);

// tokenize() of every line.
std::vector<Tokens> tokenize_lines(const std::vector<std::string>& lines);

// Sentence pairs as a data set for translation models. A batch holds the source
// sentences in batch.source, read by the encoder as `targets` (w1 .. wn </s>, with
// their lengths), and the target sentences in batch.text, as the sentence VAEs read
// them (decoder inputs <s> w1 .. wn, targets w1 .. wn </s>). Throughput and
// perplexity count target tokens. With bucketing, batches hold pairs of similar
// target length (plan_batches).
class ParallelDataset : public Dataset {
public:
    // Both sides must hold the same number of sentences.
    ParallelDataset(SentenceDataset source, SentenceDataset target, bool bucketing = false);
    std::size_t size() const override { return target.size(); }
    Batch batch(const std::vector<std::size_t>& rows) const override;
    std::size_t items(std::size_t row) const override { return target.length(row); }
    std::string item_name() const override { return "tokens"; }
    std::vector<std::vector<std::size_t>> plan(std::size_t batch_size, bool shuffle, std::uint64_t seed) const override;
    std::string describe() const override;
    SentenceDataset source, target;
    bool bucketing;
};

}  // namespace tapegrad::models::data
