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

Array rand(const Shape& shape);             // U[0, 1)
Array randn(const Shape& shape);            // N(0, 1)
Array uniform(const Shape& shape, float lo, float hi);
// 1 with probability p, else 0.
Array bernoulli(const Shape& shape, float p);
// A random permutation of 0..n-1 (Fisher-Yates).
std::vector<std::size_t> randperm(std::size_t n);

}  // namespace tapegrad::autograd
