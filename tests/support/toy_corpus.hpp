// A toy corpus for the model tests: sentences that count up from a random start
// ("w3 w4 w5"), 2 to 6 words, so that a model can learn it and its latent code has
// something to carry.
#pragma once

#include <string>
#include <vector>

#include "autograd/random.hpp"
#include "models/data/text.hpp"

namespace tapegrad::testing {

inline std::vector<models::data::Tokens> toy_corpus(std::size_t n, std::uint64_t seed) {
    autograd::Generator g(seed);
    std::vector<models::data::Tokens> out;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t start = g.below(6), len = 2 + g.below(5);
        models::data::Tokens t;
        for (std::size_t k = 0; k < len; ++k) t.push_back("w" + std::to_string((start + k) % 9));
        out.push_back(t);
    }
    return out;
}

}  // namespace tapegrad::testing
