// One seeded random engine for everything (initialisers, dropout, sampling), so
// that manual_seed(s) makes a whole run reproducible, and its state can be saved
// in a checkpoint so that a resumed run continues the same random stream.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "autograd/array.hpp"

namespace tapegrad::autograd {

class Generator {
public:
    explicit Generator(std::uint64_t seed = 0) { this->seed(seed); }
    void seed(std::uint64_t s);

    std::uint64_t next_u64() { return engine_(); }
    float uniform();  // [0, 1), 24 random bits
    float normal();   // N(0, 1), Box-Muller (our own, so results do not depend on the C++ library)
    // n normals: the same stream as n calls of normal(), vectorised. Its log,
    // sin and cos are xsimd's, in double: of 10^6 draws none differed from normal()'s
    // as floats, but another CPU's xsimd may round a last bit differently.
    void normal(float* out, std::size_t n);
    // A uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n);

    // The full state as text (engine and the spare normal), for checkpoints.
    std::string state() const;
    void set_state(const std::string& s);

private:
    std::mt19937_64 engine_;
    bool has_spare_ = false;
    float spare_ = 0.0f;
};

// The engine used by every op, initialiser and sampler (one per thread).
Generator& generator();
void manual_seed(std::uint64_t seed);

// While alive, the shared engine runs from its own seed; on exit it gets back the
// exact state it had. Evaluation uses it so that it never shifts the random stream
// of training (a resumed run then matches an uninterrupted one).
class SeedScope {
public:
    explicit SeedScope(std::uint64_t seed);
    ~SeedScope();
    SeedScope(const SeedScope&) = delete;
    SeedScope& operator=(const SeedScope&) = delete;

private:
    std::string saved_;
};

// Data parallelism (docs/distributed.md): a process that holds rows [begin, end)
// of a global batch of `rows` examples draws, while a RowSlice is alive, what one
// process with the whole batch would draw, and keeps its own rows. Every random
// tensor below then must have the batch as its first axis, or a multiple of it,
// example-major (K samples of each example: [B * K, ...], as the importance-
// weighted estimate draws); another shape is refused, since its draws could not be
// matched to examples. (With one row per process every first axis is a multiple:
// such a draw is taken for K copies of the example.) Each process takes the engine through
// the same draws, so all keep the same state, and any number of processes gives
// the numbers of one. Without a RowSlice, draws are for the tensor as it is.
// `items` (optional) holds each example's number of tokens, for packed layouts
// (PackedRows below).
class RowSlice {
public:
    RowSlice(std::size_t rows, std::size_t begin, std::size_t end, std::vector<std::size_t> items = {});
    ~RowSlice();
    RowSlice(const RowSlice&) = delete;
    RowSlice& operator=(const RowSlice&) = delete;

private:
    const RowSlice* outer_;
    std::size_t rows_, begin_, end_;
    std::vector<std::size_t> items_;
    friend struct RowSliceAccess;
};

// Models that pack a batch's tokens without padding (the Transformer VAE's [N, D],
// sentence after sentence) say so while alive: then a 1-D or 2-D random tensor
// whose first axis is this process's token count (its examples' items) is such a
// packing, and takes the whole batch's draws from its first token on.
class PackedRows {
public:
    PackedRows();
    ~PackedRows();
    PackedRows(const PackedRows&) = delete;
    PackedRows& operator=(const PackedRows&) = delete;
};

// Which elements of the draws a tensor of `shape` takes: elements [offset, offset +
// size(shape)) of `total` (offset 0, total = size(shape) without a RowSlice).
struct DrawSpan {
    std::size_t offset = 0, total = 0;
};
DrawSpan draw_span(const Shape& shape, const char* who);

Array rand(const Shape& shape);             // U[0, 1)
Array randn(const Shape& shape);            // N(0, 1)
Array uniform(const Shape& shape, float lo, float hi);
// 1 with probability p (in [0, 1]), else 0; drawn as fill_bernoulli below.
Array bernoulli(const Shape& shape, float p);
// out (a tensor of `shape`, its size() elements) each `if_true` with probability p
// (in [0, 1]), else `if_false`: dropout's masks. One draw of the shared engine is
// the key of a SplitMix64 sequence; output j of it, computed from j directly, gives
// element 2j its low 32 bits and element 2j + 1 its high 32 bits. So the pool's
// threads fill pieces of `out` at once, the result is the same for any number of
// threads (faster than drawing the engine in order: docs/performance.md), and a
// RowSlice's rows are computed without the others.
void fill_bernoulli(float* out, const Shape& shape, float p, float if_true, float if_false);
// The same draws as bytes (dropout keeps its mask as one byte per element).
void fill_bernoulli(std::uint8_t* out, const Shape& shape, float p, std::uint8_t if_true, std::uint8_t if_false);
// The same for n values in a row (a tensor of shape [n]).
inline void fill_bernoulli(float* out, std::size_t n, float p, float if_true, float if_false) {
    fill_bernoulli(out, Shape{n}, p, if_true, if_false);
}
// A random permutation of 0..n-1 (Fisher-Yates).
std::vector<std::size_t> randperm(std::size_t n);

}  // namespace tapegrad::autograd
