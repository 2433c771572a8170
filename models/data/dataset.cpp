// Batches and epochs for sentences and images (dataset.hpp).
#include "models/data/dataset.hpp"

#include "autograd/random.hpp"

namespace tapegrad::models::data {

TextBatch subset(const TextBatch& b, const std::vector<std::size_t>& which) {
    TextBatch out;
    const std::size_t T = b.inputs.dimension() == 2 ? b.inputs.shape()[1] : 0;
    std::size_t longest = 0;
    for (auto i : which) {
        if (i >= b.size()) throw Error("subset: row " + std::to_string(i) + " of a batch of " + std::to_string(b.size()));
        longest = std::max(longest, b.lengths[i]);
    }
    out.inputs = xt::zeros<std::int64_t>({which.size(), longest});
    out.targets = xt::zeros<std::int64_t>({which.size(), longest});
    for (std::size_t k = 0; k < which.size(); ++k) {
        const std::size_t i = which[k];
        std::copy_n(b.inputs.data() + i * T, longest, out.inputs.data() + k * longest);
        std::copy_n(b.targets.data() + i * T, longest, out.targets.data() + k * longest);
        out.lengths.push_back(b.lengths[i]);
        if (!b.rows.empty()) out.rows.push_back(b.rows[i]);
    }
    return out;
}

Batch Batch::subset(const std::vector<std::size_t>& which) const {
    Batch out;
    for (auto i : which) {
        if (i >= size()) throw Error("Batch::subset: row " + std::to_string(i) + " of a batch of " + std::to_string(size()));
        out.rows.push_back(rows[i]);
    }
    if (text.size()) out.text = data::subset(text, which);
    if (source.size()) out.source = data::subset(source, which);
    if (x.defined()) {
        const std::size_t D = x.size() / std::max<std::size_t>(1, x.shape()[0]);
        Array xs = Array::from_shape({which.size(), D});
        for (std::size_t k = 0; k < which.size(); ++k) std::copy_n(x.value().data() + which[k] * D, D, xs.data() + k * D);
        out.x = autograd::Tensor(std::move(xs));
    }
    if (labels.dimension() == 1) {  // (a batch without labels holds a 0-d array of one element)
        out.labels = Indices::from_shape({which.size()});
        for (std::size_t k = 0; k < which.size(); ++k) out.labels(k) = labels(which[k]);
    }
    return out;
}

namespace {
TextBatch slice(const TextBatch& b, std::size_t begin, std::size_t end) {
    TextBatch out;
    const std::size_t T = b.inputs.dimension() == 2 ? b.inputs.shape()[1] : 0;
    out.inputs = Indices::from_shape({end - begin, T});
    out.targets = Indices::from_shape({end - begin, T});
    std::copy_n(b.inputs.data() + begin * T, (end - begin) * T, out.inputs.data());
    std::copy_n(b.targets.data() + begin * T, (end - begin) * T, out.targets.data());
    out.lengths.assign(b.lengths.begin() + begin, b.lengths.begin() + end);
    if (!b.rows.empty()) out.rows.assign(b.rows.begin() + begin, b.rows.begin() + end);
    return out;
}
}  // namespace

Batch Batch::slice(std::size_t begin, std::size_t end) const {
    if (!(begin < end && end <= size()))
        throw Error("Batch::slice: examples [" + std::to_string(begin) + ", " + std::to_string(end) + ") of a batch of " +
                    std::to_string(size()));
    Batch out;
    out.rows.assign(rows.begin() + begin, rows.begin() + end);
    if (text.size()) out.text = data::slice(text, begin, end);
    if (source.size()) out.source = data::slice(source, begin, end);
    if (x.defined()) {
        const std::size_t D = x.size() / std::max<std::size_t>(1, x.shape()[0]);
        Array xs = Array::from_shape({end - begin, D});
        std::copy_n(x.value().data() + begin * D, (end - begin) * D, xs.data());
        out.x = autograd::Tensor(std::move(xs));
    }
    if (labels.dimension() == 1) {  // (a batch without labels holds a 0-d array of one element)
        out.labels = Indices::from_shape({end - begin});
        std::copy_n(labels.data() + begin, end - begin, out.labels.data());
    }
    return out;
}

std::size_t Dataset::items(std::size_t) const { return 1; }

std::vector<std::vector<std::size_t>> Dataset::plan(std::size_t batch_size, bool shuffle, std::uint64_t seed) const {
    return plan_image_batches(size(), batch_size, shuffle, seed);
}

std::string Dataset::describe() const { return std::to_string(size()) + " " + item_name(); }

TextDataset::TextDataset(SentenceDataset s, bool b) : sentences(std::move(s)), bucketing(b) {}

Batch TextDataset::batch(const std::vector<std::size_t>& rows) const {
    Batch b;
    b.rows = rows;
    b.text = sentences.batch(rows);
    return b;
}

std::vector<std::vector<std::size_t>> TextDataset::plan(std::size_t batch_size, bool shuffle, std::uint64_t seed) const {
    return plan_batches(sentences, batch_size, shuffle, seed, bucketing);
}

std::string TextDataset::describe() const {
    return std::to_string(sentences.size()) + " sentences, " + std::to_string(sentences.tokens()) + " target tokens";
}

ImageDataset::ImageDataset(ImageSet i, Binarize m) : images(std::move(i)), mode(m) {}

Batch ImageDataset::batch(const std::vector<std::size_t>& rows) const {
    Batch b;
    b.rows = rows;
    b.x = autograd::Tensor(image_batch(images, rows, mode, autograd::generator()));
    if (!images.labels.empty()) {
        b.labels = Indices::from_shape({rows.size()});
        for (std::size_t i = 0; i < rows.size(); ++i) b.labels(i) = images.labels[rows[i]];
    }
    return b;
}

std::string ImageDataset::describe() const {
    return std::to_string(images.count) + " images of " + std::to_string(images.rows) + " x " + std::to_string(images.cols);
}

}  // namespace tapegrad::models::data
