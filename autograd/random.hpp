// One seeded random engine for everything (initialisers, dropout, sampling), so
// that manual_seed(s) makes a whole run reproducible, and its state can be saved
// in a checkpoint so that a resumed run continues the same random stream.
#pragma once

#include <cstdint>
#include <random>
#include <string>

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

Array rand(const Shape& shape);             // U[0, 1)
Array randn(const Shape& shape);            // N(0, 1)
Array uniform(const Shape& shape, float lo, float hi);
// 1 with probability p (in [0, 1]), else 0; drawn as fill_bernoulli below.
Array bernoulli(const Shape& shape, float p);
// out[0..n) each `if_true` with probability p (in [0, 1]), else `if_false`: dropout's
// masks. One draw of the shared engine is the key of a SplitMix64 sequence; output
// j of it, computed from j directly, gives out[2j] its low 32 bits and out[2j + 1]
// its high 32 bits. So the pool's threads fill pieces of `out` at once, and the
// result is the same for any number of threads (faster than drawing the engine in
// order: docs/performance.md).
void fill_bernoulli(float* out, std::size_t n, float p, float if_true, float if_false);
// The same draws as bytes (dropout keeps its mask as one byte per element).
void fill_bernoulli(std::uint8_t* out, std::size_t n, float p, std::uint8_t if_true, std::uint8_t if_false);
// A random permutation of 0..n-1 (Fisher-Yates).
std::vector<std::size_t> randperm(std::size_t n);

}  // namespace tapegrad::autograd
