// Generating from a trained model: sentences from z (greedy, temperature sampling,
// beam search), from the prior or from a sentence (reconstruction), homotopies
// between two sentences (Bowman et al. 2016, sec. 5.2); image grids as PNG.
#pragma once

#include <string>
#include <vector>

#include "models/data/text.hpp"
#include "models/vae/model.hpp"

namespace tapegrad::models::vae {

enum class Decoding { greedy, sample, beam };
Decoding parse_decoding(const std::string& name);  // "greedy" | "sample" | "beam"

struct DecodeOptions {
    Decoding method = Decoding::greedy;
    float temperature = 1.0f;    // sample: softmax(logits / temperature)
    std::size_t beam_width = 5;  // beam
    float length_penalty = 1.0f; // beam: rank finished sentences by log p / length^penalty
    std::size_t max_length = 60; // tokens, </s> included
    // > 0: no n-gram of this many tokens occurs twice in one output (every method).
    // Greedy and beam decoding of a decoder that makes little use of z fall into
    // loops of frequent tokens; this forbids them outright. 1 forbids any word twice,
    // "," and "<unk>" included.
    std::size_t no_repeat_ngram = 0;
    // beam: search for up to beam_batch sentences at once, their beams the rows of one
    // batch. false: one sentence after another (the reference the batched search is
    // tested against; the same sentences).
    bool batch_beams = true;
    std::size_t beam_batch = 64;
};

// The tokens that would complete an n-gram already in `ids` if appended to it (the
// last n-1 tokens of ids followed by the token), in the order found; n = 1: every
// token of ids. Empty for n = 0.
std::vector<std::int64_t> repeated_ngram_tokens(const std::vector<std::int64_t>& ids, std::size_t n);

// One token sequence per row of z [B, Z], without <s>, ending before </s>; the
// condition (source sentences of a translation model) has B rows or none. Runs the
// model in evaluation mode without gradients.
std::vector<std::vector<std::int64_t>> decode(LatentVariableModel& model, const Array& z, const DecodeOptions& options,
                                              const Batch& condition = {});

// The posterior means of a batch: [B, Z] (evaluation mode, no gradients).
Array posterior_mean(LatentVariableModel& model, const Batch& batch);

// The batch of sentences given as words (unknown words become <unk>), as the
// sentence VAEs read them.
Batch sentence_batch(const std::vector<data::Tokens>& sentences, const data::Vocabulary& vocab, std::size_t max_length);

// Points on the line from a to b ([Z] each), endpoints included: [steps, Z].
Array interpolate(const Array& a, const Array& b, std::size_t steps);

// N samples from the standard normal prior: [n, Z].
Array prior_samples(std::size_t n, std::size_t latent);

// Saves images [N, rows*cols] with values in [0, 1] as one PNG grid, `columns` per row.
void save_image_grid(const std::string& path, const Array& images, std::size_t rows, std::size_t cols,
                     std::size_t columns);

// Decoder means for a grid of z over the unit square mapped through the inverse
// normal CDF (Kingma & Welling 2014, fig. 4): only for a 2-D latent space. [n*n, D]
Array latent_manifold(LatentVariableModel& model, std::size_t n);

// The inverse CDF of N(0, 1) (by bisection on erf: plenty fast for a figure).
double normal_quantile(double p);

}  // namespace tapegrad::models::vae
