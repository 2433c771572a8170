// Data loading: PTB-style text and IDX images, including every bad-input path.
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "models/data/dataset.hpp"
#include "models/data/images.hpp"
#include "models/data/text.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::models::data;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("tapegrad_data_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}
fs::path write_text(const std::string& name, const std::string& text) {
    const fs::path p = scratch(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
}
void put32(std::string& s, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
// Writes bytes gzip-compressed (as the MNIST files are distributed).
fs::path write_gz(const std::string& name, const std::string& bytes) {
    const fs::path p = scratch(name);
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    return p;
}
std::string idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, std::uint32_t magic = 0x803) {
    std::string s;
    put32(s, magic);
    put32(s, count);
    put32(s, rows);
    put32(s, cols);
    for (std::uint32_t i = 0; i < count * rows * cols; ++i) s += static_cast<char>((i * 37) % 256);
    return s;
}
std::string idx_labels(std::uint32_t count) {
    std::string s;
    put32(s, 0x801);
    put32(s, count);
    for (std::uint32_t i = 0; i < count; ++i) s += static_cast<char>(i % 10);
    return s;
}
}  // namespace

TEST_CASE("read_sentences: one sentence per line, whitespace-split, lower-cased") {
    const auto path = write_text("ok.txt", " The cat sat \n a dog\n\n");
    const auto s = read_sentences(path);
    REQUIRE(s.size() == 3);
    CHECK(s[0] == Tokens{"the", "cat", "sat"});
    CHECK(s[1] == Tokens{"a", "dog"});
    CHECK(s[2].empty());
}

TEST_CASE("read_sentences: bad files are refused with the file, the line and the reason") {
    CHECK_THROWS_WITH_AS(read_sentences(scratch("missing.txt")), doctest::Contains("missing.txt: cannot open"), Error);
    CHECK_THROWS_WITH_AS(read_sentences(write_text("empty.txt", "")), doctest::Contains("empty.txt: the file is empty"), Error);
    CHECK_THROWS_WITH_AS(read_sentences(write_text("latin1.txt", "fine\ncaf\xe9 au lait\n")),
                         doctest::Contains("latin1.txt:2: byte 0xe9 at column 4 is not valid UTF-8"), Error);
    CHECK_THROWS_WITH_AS(read_sentences(write_text("nul.txt", std::string("a\0b\n", 4))),
                         doctest::Contains("nul.txt:1: NUL byte at column 2"), Error);
    ReadOptions o;
    o.max_line_bytes = 10;
    CHECK_THROWS_WITH_AS(read_sentences(write_text("long.txt", "short\nthis line is too long\n"), o),
                         doctest::Contains("long.txt:2: line of 21 bytes is longer than the limit of 10"), Error);
    CHECK(read_sentences(write_text("utf8.txt", "caf\xc3\xa9 \xe2\x82\xac\n"))[0] == Tokens{"caf\xc3\xa9", "\xe2\x82\xac"});
    fs::create_directories(scratch("a_folder"));
    CHECK_THROWS_WITH_AS(read_sentences(scratch("a_folder")), doctest::Contains("a_folder: cannot open: it is a folder"), Error);
}

TEST_CASE("read_sentences: a file without line breaks is measured and refused, not held in memory") {
    ReadOptions o;
    o.max_line_bytes = 100;
    const std::string path = write_text("one_line.bin", std::string(3'000'000, 'x'));
    CHECK_THROWS_WITH_AS(read_sentences(path, o),
                         doctest::Contains("one_line.bin:1: line of 3000000 bytes is longer than the limit of 100"), Error);
}

TEST_CASE("read_sentences: lines longer than the read buffer, at its edges and without a final newline, come whole") {
    // The reader takes 4096 bytes at a time (4095 and a terminator): lines of 4094..4097 bytes cross that edge.
    std::string text;
    std::vector<Tokens> expect;
    for (std::size_t n : {4094, 4095, 4096, 4097, 10000}) {
        text += std::string(n - 2, 'a') + " b\n";
        expect.push_back({std::string(n - 2, 'a'), "b"});
    }
    text += "\n" + std::string(4095, 'c');  // an empty line, then a last line without '\n'
    expect.push_back({});
    expect.push_back({std::string(4095, 'c')});
    CHECK(read_sentences(write_text("edges.txt", text)) == expect);
    ReadOptions o;
    o.max_line_bytes = 4096;
    CHECK_THROWS_WITH_AS(read_sentences(write_text("edges.txt", text), o),
                         doctest::Contains("edges.txt:4: line of 4097 bytes is longer than the limit of 4096"), Error);
}

TEST_CASE("Vocabulary: specials first, then words by first occurrence, rare words dropped") {
    const std::vector<Tokens> s = {{"b", "a", "b"}, {"c", "a", "d"}};
    const Vocabulary v = Vocabulary::build(s, 2);
    CHECK(v.words() == std::vector<std::string>{"<pad>", "<unk>", "<sos>", "<eos>", "b", "a"});
    CHECK(v.id("c") == Vocabulary::unk);
    CHECK(v.encode({"a", "zzz"}) == std::vector<std::int64_t>{5, 1});
    CHECK(v.decode({4, 5, Vocabulary::eos, 4}) == "b a");
    CHECK(Vocabulary::build(s, 1).size() == 8);
    CHECK_THROWS_WITH_AS(Vocabulary::from_words({"a", "b"}), doctest::Contains("must start with <pad> <unk> <sos> <eos>"), Error);
}

TEST_CASE("SentenceDataset: <sos>-shifted inputs and <eos>-ended targets, cut to max_length, padded batches") {
    const std::vector<Tokens> s = {{"a", "b", "c", "d", "e"}, {"b"}};
    const Vocabulary v = Vocabulary::from_words({"<pad>", "<unk>", "<sos>", "<eos>", "a", "b", "c", "d", "e"});
    const SentenceDataset d(s, v, 4);
    // <sos> a b c | a b c <eos>: three words kept, four steps
    CHECK(d[0].input == std::vector<std::int64_t>{2, 4, 5, 6});
    CHECK(d[0].target == std::vector<std::int64_t>{4, 5, 6, 3});
    CHECK(d.length(1) == 2);
    CHECK(d.tokens() == 6);
    const TextBatch b = d.batch({1, 0});
    CHECK(b.lengths == std::vector<std::size_t>{2, 4});
    CHECK_ARRAY_EQ(Array(b.inputs), array({2, 5, 0, 0, 2, 4, 5, 6}, {2, 4}));
    CHECK_ARRAY_EQ(Array(b.targets), array({5, 3, 0, 0, 4, 5, 6, 3}, {2, 4}));
    CHECK(b.tokens() == 6);
}

// A data-parallel rank's share of a batch (nn/distributed.hpp).
TEST_CASE("Batch::slice: examples [begin, end) of every field, padded as the whole batch, labels only when there are any") {
    const std::vector<Tokens> s = {{"a", "b", "c"}, {"b"}, {"c", "d"}};
    const Vocabulary v = Vocabulary::from_words({"<pad>", "<unk>", "<sos>", "<eos>", "a", "b", "c", "d"});
    const TextDataset d(SentenceDataset(s, v, 8));
    const Batch whole = d.batch({0, 1, 2});
    const Batch part = whole.slice(1, 3);
    CHECK(part.rows == std::vector<std::size_t>{1, 2});
    CHECK(part.text.lengths == std::vector<std::size_t>{2, 3});
    CHECK(part.text.inputs.shape()[1] == whole.text.inputs.shape()[1]);  // the whole batch's padding: 4, not 3
    CHECK_ARRAY_EQ(Array(part.text.targets), array({5, 3, 0, 0, 6, 7, 3, 0}, {2, 4}));
    CHECK(part.labels.dimension() == 0);  // text has no labels, and gets none
    Batch images;
    images.rows = {7, 8, 9};
    images.x = autograd::Tensor(array({1, 2, 3, 4, 5, 6}, {3, 2}));
    images.labels = Indices::from_shape({3});
    images.labels = {4, 5, 6};
    const Batch last = images.slice(2, 3);
    CHECK_ARRAY_EQ(last.x.value(), array({5, 6}, {1, 2}));
    CHECK(last.labels.size() == 1);
    CHECK(last.labels(0) == 6);
    CHECK_THROWS_WITH_AS(images.slice(2, 2), doctest::Contains("Batch::slice: examples [2, 2) of a batch of 3"), Error);
}

TEST_CASE("plan_batches: every row exactly once, reproducible by seed, bucketing groups lengths") {
    std::vector<Tokens> s;
    for (int i = 0; i < 103; ++i) s.push_back(Tokens(static_cast<std::size_t>(1 + (i * 7) % 20), "w"));
    const Vocabulary v = Vocabulary::build(s, 1);
    const SentenceDataset d(s, v, 60);
    for (bool bucket : {false, true}) {
        const auto a = plan_batches(d, 10, true, 5, bucket), b = plan_batches(d, 10, true, 5, bucket);
        CHECK(a == b);
        CHECK(a.size() == 11);
        std::vector<int> seen(103, 0);
        for (const auto& batch : a)
            for (auto r : batch) ++seen[r];
        CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
    }
    CHECK(plan_batches(d, 10, true, 5) != plan_batches(d, 10, true, 6));
    auto padding = [&](const auto& plan) {
        std::size_t pad = 0;
        for (const auto& batch : plan) pad += batch.size() * d.batch(batch).inputs.shape()[1] - d.batch(batch).tokens();
        return pad;
    };
    CHECK(padding(plan_batches(d, 10, true, 5, true)) < padding(plan_batches(d, 10, true, 5, false)) / 2);
}

TEST_CASE("read_idx: images and labels from gzip files") {
    const auto img = write_gz("ok-images.gz", idx_images(3, 2, 2)), lab = write_gz("ok-labels.gz", idx_labels(3));
    const ImageSet set = read_idx(img, lab);
    CHECK(set.count == 3);
    CHECK(set.pixels_per_image() == 4);
    CHECK(set.labels == std::vector<std::uint8_t>{0, 1, 2});
    autograd::Generator g(1);
    const Array x = image_batch(set, {2}, Binarize::none, g);
    CHECK_CLOSE(x, array({8 * 37 % 256 / 255.0f, 9 * 37 % 256 / 255.0f, 10 * 37 % 256 / 255.0f, 11 * 37 % 256 / 255.0f}, {1, 4}),
                1e-6, 1e-7);
}

TEST_CASE("read_idx: wrong magic, truncation, trailing bytes, label mismatch and corrupt gzip are refused") {
    CHECK_THROWS_WITH_AS(read_idx(write_gz("magic.gz", idx_images(2, 2, 2, 0x801))),
                         doctest::Contains("wrong magic number 0x00000801"), Error);
    const std::string full = idx_images(4, 3, 3);
    CHECK_THROWS_WITH_AS(read_idx(write_gz("trunc.gz", full.substr(0, full.size() - 5))),
                         doctest::Contains("truncated: the header announces 4 images of 3 x 3 (36 bytes of pixel data), "
                                           "the file holds 31"),
                         Error);
    CHECK_THROWS_WITH_AS(read_idx(write_gz("trail.gz", full + "xx")), doctest::Contains("trailing bytes after 4 images"), Error);
    CHECK_THROWS_WITH_AS(read_idx(write_gz("img.gz", full), write_gz("lab.gz", idx_labels(5))),
                         doctest::Contains("5 labels for 4 images"), Error);
    // A gzip file cut in the middle of its compressed stream.
    const auto good = write_gz("whole.gz", idx_images(200, 28, 28));
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto cut = write_text("cut.gz", bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_AS(read_idx(cut), Error);
    CHECK_THROWS_WITH_AS(read_idx(scratch("nothere.gz")), doctest::Contains("cannot open"), Error);
    fs::create_directories(scratch("idx_folder"));
    CHECK_THROWS_WITH_AS(read_idx(scratch("idx_folder")), doctest::Contains("idx_folder: cannot open: it is a folder"), Error);
}

TEST_CASE("read_idx: a header that announces more than the file holds is refused before the memory is claimed") {
    // 33 bytes claiming 134,217,728 images of 768 x 512: 48 TB if the header were believed.
    std::string header;
    put32(header, 0x803);
    put32(header, 134217728);
    put32(header, 768);
    put32(header, 512);
    const std::string bytes = header + std::string(17, '\x7f');
    REQUIRE(bytes.size() == 33);
    const std::string expect = ": truncated: the header announces 134217728 images of 768 x 512 "
                               "(52776558133248 bytes of pixel data), the file holds 17";
    const std::string plain = write_text("huge-images-idx3-ubyte", bytes).string();
    CHECK_THROWS_WITH_AS(read_idx(plain), (plain + expect).c_str(), Error);
    const std::string gz = write_gz("huge-images-idx3-ubyte.gz", bytes).string();
    CHECK_THROWS_WITH_AS(read_idx(gz), (gz + expect).c_str(), Error);
    // Labels are read only up to the count of images actually present.
    const auto img = write_gz("few-images.gz", idx_images(3, 2, 2));
    std::string labels;
    put32(labels, 0x801);
    put32(labels, 3);
    labels += "\x01";
    const std::string lab = write_gz("few-labels.gz", labels).string();
    CHECK_THROWS_WITH_AS(read_idx(img, lab), (lab + ": truncated: the header announces 3 labels (3 bytes of labels), the file holds 1").c_str(),
                         Error);
}

TEST_CASE("binarisation: fixed draws once, dynamic draws per batch, both follow the grey level") {
    ImageSet set;
    set.count = 1;
    set.rows = 100;
    set.cols = 100;
    set.pixels.assign(10000, 64);  // grey level 0.25
    autograd::Generator g(3);
    const Array a = image_batch(set, {0}, Binarize::dynamic, g), b = image_batch(set, {0}, Binarize::dynamic, g);
    CHECK_FALSE(tapegrad::testing::compare(a, b, 0, 0).ok);
    CHECK(xt::mean(a)() == doctest::Approx(64.0 / 255).epsilon(0.06));
    binarize_fixed(set, 9);
    const Array c = image_batch(set, {0}, Binarize::none, g);
    CHECK(std::all_of(c.begin(), c.end(), [](float v) { return v == 0.0f || v == 1.0f; }));
    CHECK(xt::mean(c)() == doctest::Approx(64.0 / 255).epsilon(0.06));
    CHECK_THROWS_WITH_AS(parse_binarize("half"), doctest::Contains("expected none, fixed or dynamic"), Error);
}
