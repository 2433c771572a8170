// Images in the IDX format of MNIST and Fashion-MNIST (.gz or plain), kept as bytes
// (a quarter of the memory of floats) and turned into [B, H*W] float batches with
// grey levels in [0, 1], or binarised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/array.hpp"
#include "autograd/random.hpp"

namespace tapegrad::models::data {

// Where Debian's dataset-fashion-mnist package installs Fashion-MNIST.
inline constexpr const char* fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

struct ImageSet {
    std::vector<std::uint8_t> pixels;  // count * rows * cols, row-major
    std::vector<std::uint8_t> labels;  // count (empty if no label file was read)
    std::size_t count = 0, rows = 0, cols = 0;
    std::size_t pixels_per_image() const { return rows * cols; }
};

// Reads an IDX image file (magic 0x00000803) and, if given, its label file (0x00000801).
// A wrong magic number, impossible dimensions, a truncated file, trailing bytes,
// a corrupt gzip stream or a label count that differs from the image count are
// refused with the file name and the reason. Memory grows with the data actually
// read, so a header announcing more than the file holds costs no more than the file.
ImageSet read_idx(const std::string& images_path, const std::string& labels_path = "");

// Train or test split of an MNIST-style folder: {prefix}-images-idx3-ubyte.gz and
// {prefix}-labels-idx1-ubyte.gz with prefix "train" or "t10k".
ImageSet read_idx_split(const std::string& folder, const std::string& prefix);

enum class Binarize {
    none,     // grey levels in [0, 1] (pytorch/examples' VAE)
    fixed,    // one Bernoulli draw per pixel, made once (seeded) for the whole set
    dynamic,  // a new Bernoulli draw every time a batch is made
};
Binarize parse_binarize(const std::string& name);  // "none" | "fixed" | "dynamic"

// Applies Binarize::fixed to the set in place (pixels become 0 or 255).
void binarize_fixed(ImageSet& set, std::uint64_t seed);

// Images `rows` as a [B, rows*cols] float batch in [0, 1]; with Binarize::dynamic
// each pixel is 1 with probability equal to its grey level (drawn from g).
Array image_batch(const ImageSet& set, const std::vector<std::size_t>& rows, Binarize mode, autograd::Generator& g);

// Shuffled (or sequential) batches of row indices for an epoch.
std::vector<std::vector<std::size_t>> plan_image_batches(std::size_t count, std::size_t batch_size, bool shuffle,
                                                         std::uint64_t seed);

}  // namespace tapegrad::models::data
