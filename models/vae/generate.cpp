#include "models/vae/generate.hpp"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/autograd.hpp"

namespace tapegrad::models::vae {

using namespace autograd;
using data::Vocabulary;

namespace {

const SequenceGenerator& generator_of(const LatentVariableModel& model) {
    const auto* g = dynamic_cast<const SequenceGenerator*>(&model);
    if (!g) throw Error("decode: this model does not generate token sequences");
    return *g;
}

std::int64_t sample_row(const float* logits, std::size_t V, float temperature) {
    std::vector<double> p(V);
    double m = -INFINITY;
    for (std::size_t v = 0; v < V; ++v) m = std::max(m, double(logits[v]) / temperature);
    double total = 0.0;
    for (std::size_t v = 0; v < V; ++v) total += p[v] = std::exp(double(logits[v]) / temperature - m);
    double u = generator().uniform() * total;
    std::size_t last = 0;  // the last token with some probability: where rounding may leave u
    for (std::size_t v = 0; v < V; ++v) {
        if (p[v] == 0.0) continue;  // forbidden, or too unlikely to be drawn
        last = v;
        u -= p[v];
        if (u < 0.0) return static_cast<std::int64_t>(v);
    }
    return static_cast<std::int64_t>(last);
}

// Forbids, in a row of scores, the tokens that would repeat an n-gram of ids: their
// scores become -inf. </s> never enters ids, so it is never forbidden and every row
// keeps a token to choose.
constexpr float forbidden = -std::numeric_limits<float>::infinity();
void forbid_repeats(const std::vector<std::int64_t>& ids, std::size_t n, float* row) {
    for (const std::int64_t v : repeated_ngram_tokens(ids, n)) row[v] = forbidden;
}

// Greedy and sampled decoding of a whole batch, step by step.
std::vector<std::vector<std::int64_t>> decode_batch(const SequenceGenerator& model, const Array& z, const Batch& condition,
                                                    const DecodeOptions& o) {
    const std::size_t B = z.shape()[0], V = model.vocabulary_size();
    const auto state = model.start(Tensor(z), condition);
    Indices tokens = Indices::from_shape({B});
    tokens.fill(Vocabulary::sos);
    std::vector<std::vector<std::int64_t>> out(B);
    std::vector<bool> done(B, false);
    for (std::size_t t = 0; t < o.max_length; ++t) {
        Array logits = model.step(tokens, *state).value();
        bool all = true;
        for (std::size_t b = 0; b < B; ++b) {
            float* row = &logits(b, 0);
            if (!done[b]) forbid_repeats(out[b], o.no_repeat_ngram, row);
            const std::int64_t next = o.method == Decoding::greedy
                                          ? static_cast<std::int64_t>(std::max_element(row, row + V) - row)
                                          : sample_row(row, V, o.temperature);
            tokens(b) = next;
            if (!done[b]) {
                if (next == Vocabulary::eos)
                    done[b] = true;
                else
                    out[b].push_back(next);
            }
            all = all && done[b];
        }
        if (all) break;
    }
    return out;
}

std::vector<std::int64_t> beam_search(const SequenceGenerator& model, const Array& z1, const Batch& condition,
                                      const DecodeOptions& o) {
    const std::size_t V = model.vocabulary_size(), K = std::max<std::size_t>(1, o.beam_width);
    struct Beam {
        std::vector<std::int64_t> ids;
        double score;
    };
    std::vector<Beam> beams{{{}, 0.0}}, finished;
    const auto state = model.start(Tensor(z1), condition);
    auto rank = [&](const Beam& b) { return b.score / std::pow(double(std::max<std::size_t>(1, b.ids.size() + 1)), o.length_penalty); };
    for (std::size_t t = 0; t < o.max_length && !beams.empty(); ++t) {
        Indices tokens = Indices::from_shape({beams.size()});
        for (std::size_t i = 0; i < beams.size(); ++i) tokens(i) = beams[i].ids.empty() ? Vocabulary::sos : beams[i].ids.back();
        Array logp = log_softmax(model.step(tokens, *state), -1).value();
        struct Candidate {
            double score;
            std::size_t beam;
            std::int64_t token;
        };
        std::vector<Candidate> c;
        c.reserve(beams.size() * V);
        for (std::size_t i = 0; i < beams.size(); ++i) {
            forbid_repeats(beams[i].ids, o.no_repeat_ngram, &logp(i, 0));
            for (std::size_t v = 0; v < V; ++v)
                if (logp(i, v) != forbidden) c.push_back({beams[i].score + logp(i, v), i, static_cast<std::int64_t>(v)});
        }
        const std::size_t top = std::min(c.size(), 2 * K);
        std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(top), c.end(),
                          [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
        std::vector<Beam> next;
        std::vector<std::size_t> parents;
        for (std::size_t j = 0; j < top && next.size() < K; ++j) {
            Beam b{beams[c[j].beam].ids, c[j].score};
            if (c[j].token == Vocabulary::eos) {
                finished.push_back(b);
            } else {
                b.ids.push_back(c[j].token);
                next.push_back(std::move(b));
                parents.push_back(c[j].beam);
            }
        }
        if (finished.size() >= K) break;
        beams = std::move(next);
        if (!beams.empty()) model.select_rows(*state, parents);
    }
    for (auto& b : beams) finished.push_back(b);  // unfinished at max_length
    return std::max_element(finished.begin(), finished.end(), [&](const Beam& a, const Beam& b) { return rank(a) < rank(b); })->ids;
}

// The same search for every row of z at once: the live beams of all sentences are
// the rows of one decoder state, so that each step is one batched model step. Each
// sentence's beams are chosen exactly as beam_search chooses them (the reference
// this is tested against), and a sentence whose search has ended leaves the batch.
std::vector<std::vector<std::int64_t>> beam_search_batch(const SequenceGenerator& model, const Array& z,
                                                         const Batch& condition, const DecodeOptions& o) {
    const std::size_t B = z.shape()[0], V = model.vocabulary_size(), K = std::max<std::size_t>(1, o.beam_width);
    struct Beam {
        std::vector<std::int64_t> ids;
        double score;
    };
    struct Search {
        std::vector<Beam> beams{{{}, 0.0}}, finished;
        bool over = false;
    };
    struct Candidate {
        double score;
        std::size_t beam;
        std::int64_t token;
    };
    std::vector<Search> searches(B);
    std::vector<Candidate> c;
    const auto state = model.start(Tensor(z), condition);  // row b: sentence b's one beam
    for (std::size_t t = 0; t < o.max_length; ++t) {
        std::size_t rows = 0;
        for (const Search& s : searches) rows += s.over ? 0 : s.beams.size();
        if (rows == 0) break;
        Indices tokens = Indices::from_shape({rows});
        for (std::size_t r = 0; const Search& s : searches)
            if (!s.over)
                for (const Beam& b : s.beams) tokens(r++) = b.ids.empty() ? Vocabulary::sos : b.ids.back();
        Array logp = log_softmax(model.step(tokens, *state), -1).value();
        std::vector<std::size_t> parents;  // the state's rows the next step continues
        for (std::size_t first = 0; Search& s : searches) {
            if (s.over) continue;
            c.clear();
            for (std::size_t i = 0; i < s.beams.size(); ++i) {
                forbid_repeats(s.beams[i].ids, o.no_repeat_ngram, &logp(first + i, 0));
                for (std::size_t v = 0; v < V; ++v)
                    if (logp(first + i, v) != forbidden)
                        c.push_back({s.beams[i].score + logp(first + i, v), i, static_cast<std::int64_t>(v)});
            }
            const std::size_t top = std::min(c.size(), 2 * K);
            std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(top), c.end(),
                              [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
            std::vector<Beam> next;
            std::vector<std::size_t> from;
            for (std::size_t j = 0; j < top && next.size() < K; ++j) {
                Beam b{s.beams[c[j].beam].ids, c[j].score};
                if (c[j].token == Vocabulary::eos) {
                    s.finished.push_back(b);
                } else {
                    b.ids.push_back(c[j].token);
                    next.push_back(std::move(b));
                    from.push_back(first + c[j].beam);
                }
            }
            first += s.beams.size();
            if (s.finished.size() >= K) {  // as beam_search: its last beams stay as they were
                s.over = true;
                continue;
            }
            s.beams = std::move(next);
            s.over = s.beams.empty();
            parents.insert(parents.end(), from.begin(), from.end());
        }
        if (parents.empty()) break;
        model.select_rows(*state, parents);
    }
    std::vector<std::vector<std::int64_t>> out;
    auto rank = [&](const Beam& b) { return b.score / std::pow(double(std::max<std::size_t>(1, b.ids.size() + 1)), o.length_penalty); };
    for (Search& s : searches) {
        for (auto& b : s.beams) s.finished.push_back(b);  // unfinished at max_length
        out.push_back(std::max_element(s.finished.begin(), s.finished.end(),
                                       [&](const Beam& a, const Beam& b) { return rank(a) < rank(b); })->ids);
    }
    return out;
}

}  // namespace

std::vector<std::int64_t> repeated_ngram_tokens(const std::vector<std::int64_t>& ids, std::size_t n) {
    std::vector<std::int64_t> out;
    if (n == 0 || ids.size() < n) return out;
    // Every n-gram ids[i .. i+n) whose first n-1 tokens equal the last n-1 of ids.
    const std::size_t tail = ids.size() - (n - 1);
    for (std::size_t i = 0; i + n <= ids.size(); ++i)
        if (std::equal(ids.begin() + static_cast<std::ptrdiff_t>(i), ids.begin() + static_cast<std::ptrdiff_t>(i + n - 1),
                       ids.begin() + static_cast<std::ptrdiff_t>(tail)))
            out.push_back(ids[i + n - 1]);
    return out;
}

Decoding parse_decoding(const std::string& name) {
    if (name == "greedy") return Decoding::greedy;
    if (name == "sample") return Decoding::sample;
    if (name == "beam") return Decoding::beam;
    throw Error("unknown decoding '" + name + "' (expected greedy, sample or beam)");
}

std::vector<std::vector<std::int64_t>> decode(LatentVariableModel& model, const Array& z, const DecodeOptions& o,
                                              const Batch& condition) {
    const SequenceGenerator& g = generator_of(model);
    if (z.dimension() != 2 || z.shape()[1] != model.latent_size())
        throw Error("decode: z must be [B, " + std::to_string(model.latent_size()) + "], got " + shape_str(z.shape()));
    if (condition.size() != 0 && condition.size() != z.shape()[0])
        throw Error("decode: " + std::to_string(condition.size()) + " conditions for " + std::to_string(z.shape()[0]) + " codes");
    if (!(o.temperature > 0.0f)) throw Error("decode: temperature must be positive");
    if (o.beam_width == 0) throw Error("decode: the beam width must be at least 1");
    nn::EvalGuard eval(model);
    NoGradGuard no_grad;
    if (o.method != Decoding::beam) return decode_batch(g, z, condition, o);
    std::vector<std::vector<std::int64_t>> out;
    const std::size_t B = z.shape()[0], chunk = o.batch_beams ? std::max<std::size_t>(1, o.beam_batch) : 1;
    for (std::size_t from = 0; from < B; from += chunk) {
        const std::size_t to = std::min(B, from + chunk);
        std::vector<std::size_t> rows;
        for (std::size_t b = from; b < to; ++b) rows.push_back(b);
        const Array zs = xt::view(z, xt::range(from, to), xt::all());
        const Batch cs = condition.size() ? condition.subset(rows) : Batch{};
        if (o.batch_beams) {
            for (auto& s : beam_search_batch(g, zs, cs, o)) out.push_back(std::move(s));
        } else {
            out.push_back(beam_search(g, zs, cs, o));
        }
    }
    return out;
}

Array posterior_mean(LatentVariableModel& model, const Batch& batch) {
    nn::EvalGuard eval(model);
    NoGradGuard no_grad;
    return model.posterior(batch).loc.value();
}

Batch sentence_batch(const std::vector<data::Tokens>& sentences, const data::Vocabulary& vocab, std::size_t max_length) {
    const data::SentenceDataset set(sentences, vocab, max_length);
    std::vector<std::size_t> rows(set.size());
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    Batch b;
    b.rows = rows;
    b.text = set.batch(rows);
    return b;
}

Array interpolate(const Array& a, const Array& b, std::size_t steps) {
    if (a.shape() != b.shape() || a.dimension() != 1) throw Error("interpolate: endpoints must be two [Z] vectors of the same size");
    if (steps < 2) throw Error("interpolate: needs at least 2 steps (the endpoints)");
    Array out = Array::from_shape({steps, a.size()});
    for (std::size_t s = 0; s < steps; ++s) {
        const float t = static_cast<float>(s) / static_cast<float>(steps - 1);
        for (std::size_t j = 0; j < a.size(); ++j) out(s, j) = (1.0f - t) * a(j) + t * b(j);
    }
    return out;
}

Array prior_samples(std::size_t n, std::size_t latent) { return randn({n, latent}); }

void save_image_grid(const std::string& path, const Array& images, std::size_t rows, std::size_t cols, std::size_t columns) {
    const std::size_t n = images.shape()[0];
    if (images.dimension() != 2 || images.shape()[1] != rows * cols)
        throw Error("save_image_grid: images must be [N, " + std::to_string(rows * cols) + "], got " + shape_str(images.shape()));
    columns = std::max<std::size_t>(1, std::min(columns, n));
    const std::size_t grid_rows = (n + columns - 1) / columns, pad = 2;
    const std::size_t W = columns * (cols + pad) + pad, H = grid_rows * (rows + pad) + pad;
    std::vector<unsigned char> pixels(W * H, 64);  // dark grey frame
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t gx = pad + (i % columns) * (cols + pad), gy = pad + (i / columns) * (rows + pad);
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c) {
                const float v = std::clamp(images(i, r * cols + c), 0.0f, 1.0f);
                pixels[(gy + r) * W + gx + c] = static_cast<unsigned char>(std::lround(v * 255.0f));
            }
    }
    if (!stbi_write_png(path.c_str(), static_cast<int>(W), static_cast<int>(H), 1, pixels.data(), static_cast<int>(W)))
        throw Error("save_image_grid: cannot write " + path);
}

double normal_quantile(double p) {
    if (!(p > 0.0 && p < 1.0)) throw Error("normal_quantile: p must lie in (0, 1)");
    double lo = -40.0, hi = 40.0;
    for (int i = 0; i < 200; ++i) {
        const double mid = 0.5 * (lo + hi);
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

Array latent_manifold(LatentVariableModel& model, std::size_t n) {
    const auto* images = dynamic_cast<const ImageGenerator*>(&model);
    if (!images) throw Error("latent_manifold: this model does not generate images");
    if (model.latent_size() != 2)
        throw Error("latent_manifold: needs a 2-D latent space, the model has " + std::to_string(model.latent_size()));
    nn::EvalGuard eval(model);
    NoGradGuard no_grad;
    Array z = Array::from_shape({n * n, 2});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            z(i * n + j, 0) = static_cast<float>(normal_quantile((j + 0.5) / n));
            z(i * n + j, 1) = static_cast<float>(normal_quantile(1.0 - (i + 0.5) / n));
        }
    return images->mean_image(Tensor(z), Batch{});
}

}  // namespace tapegrad::models::vae
