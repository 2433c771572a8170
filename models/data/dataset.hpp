// The data side of the model interface: a Batch holds a batch of examples in the
// form models read, and a Dataset makes Batches from row indices and plans epochs.
// The library's training, evaluation and generation work on any Dataset; a new
// kind of data implements one (docs/adding_a_model.md).
// Read next: models/vae/model.hpp (the model side).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.hpp"
#include "models/data/images.hpp"
#include "models/data/text.hpp"

namespace tapegrad::models::data {

// A batch of examples. Each kind of data fills the fields it has; a model reads the
// fields its data gives it.
struct Batch {
    std::vector<std::size_t> rows;  // the examples' rows in their data set
    TextBatch text;                 // sentences: decoder inputs, targets, lengths (the target side of a pair)
    autograd::Tensor x;             // [B, D] images, grey levels in [0, 1] (or binarised)
    Indices labels;                 // [B] class labels, when the data has them
    TextBatch source;               // the source sentences of a translation pair
    std::size_t size() const { return rows.size(); }
    // Examples `which` (positions in this batch) of every field, as constants.
    Batch subset(const std::vector<std::size_t>& which) const;
    // Examples [begin, end), padded as the whole batch is: a data-parallel rank's
    // share, whose random draws then line up with the whole batch's
    // (autograd::RowSlice, nn/distributed.hpp).
    Batch slice(std::size_t begin, std::size_t end) const;
};

// Examples `which` of a text batch, padded to the longest of them.
TextBatch subset(const TextBatch& b, const std::vector<std::size_t>& which);

class Dataset {
public:
    virtual ~Dataset() = default;
    virtual std::size_t size() const = 0;
    // The examples `rows` as a batch. Random choices (dynamic binarisation) draw from
    // the shared engine (autograd::generator()).
    virtual Batch batch(const std::vector<std::size_t>& rows) const = 0;
    // What throughput and perplexity count in example `row`: its target tokens for
    // text, 1 otherwise; and their name.
    virtual std::size_t items(std::size_t row) const;
    virtual std::string item_name() const { return "examples"; }
    // The batches of an epoch: rows cut into batches of batch_size (the last may be
    // smaller), shuffled with `seed` unless shuffle is false.
    virtual std::vector<std::vector<std::size_t>> plan(std::size_t batch_size, bool shuffle, std::uint64_t seed) const;
    // A short description for logs ("42068 sentences, 929589 target tokens").
    virtual std::string describe() const;
};

// Sentences (the sentence VAEs' data).
class TextDataset : public Dataset {
public:
    TextDataset(SentenceDataset sentences, bool bucketing = false);
    std::size_t size() const override { return sentences.size(); }
    Batch batch(const std::vector<std::size_t>& rows) const override;
    std::size_t items(std::size_t row) const override { return sentences.length(row); }
    std::string item_name() const override { return "tokens"; }
    std::vector<std::vector<std::size_t>> plan(std::size_t batch_size, bool shuffle, std::uint64_t seed) const override;
    std::string describe() const override;
    SentenceDataset sentences;
    bool bucketing;
};

// Images, with their labels when the set has them.
class ImageDataset : public Dataset {
public:
    ImageDataset(ImageSet images, Binarize mode = Binarize::none);
    std::size_t size() const override { return images.count; }
    Batch batch(const std::vector<std::size_t>& rows) const override;
    std::string item_name() const override { return "images"; }
    std::string describe() const override;
    ImageSet images;
    Binarize mode;
};

}  // namespace tapegrad::models::data
