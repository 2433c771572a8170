#include "autograd/random.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include <xsimd/xsimd.hpp>

#include "autograd/kernels/parallel.hpp"

namespace tapegrad::autograd {

namespace {
// The two uniforms of a Box-Muller pair, 53 random bits each: u1 in (0, 1] (its log
// is taken), u2 in [0, 1). One definition for normal() and normal(out, n), whose
// streams must stay identical.
double unit_above_zero(std::mt19937_64& e) { return (static_cast<double>(e() >> 11) + 1.0) * 0x1.0p-53; }
double unit(std::mt19937_64& e) { return static_cast<double>(e() >> 11) * 0x1.0p-53; }

// SplitMix64 (Steele, Lea and Flood, 2014): its state advances by a fixed odd
// step, and each output is the state through this mixing function, so output i of
// the sequence from `key` is mix(key + (i + 1) * step), computable in any order.
constexpr std::uint64_t splitmix_step = 0x9e3779b97f4a7c15ull;
std::uint64_t splitmix_mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
}  // namespace

void Generator::seed(std::uint64_t s) {
    engine_.seed(s);
    has_spare_ = false;
}

float Generator::uniform() { return static_cast<float>(engine_() >> 40) * 0x1.0p-24f; }

float Generator::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    // Two uniforms in (0, 1] and [0, 1) -> two independent normals.
    const double u1 = unit_above_zero(engine_);
    const double u2 = unit(engine_);
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double t = 2.0 * std::numbers::pi * u2;
    spare_ = static_cast<float>(r * std::sin(t));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(t));
}

void Generator::normal(float* out, std::size_t n) {
    // The same draws in the same order as n calls of normal(), with the transform
    // done for a block of pairs at once (vectorised log, sqrt, sin and cos).
    using Batch = xsimd::batch<double>;
    constexpr std::size_t lanes = Batch::size, block = 8 * lanes;  // pairs per block
    std::size_t i = 0;
    if (n > 0 && has_spare_) {
        out[i++] = spare_;
        has_spare_ = false;
    }
    alignas(64) double u1[block], u2[block], c[block], s[block];
    while (i < n) {
        const std::size_t pairs = std::min(block, (n - i + 1) / 2);
        for (std::size_t k = 0; k < pairs; ++k) {
            u1[k] = unit_above_zero(engine_);
            u2[k] = unit(engine_);
        }
        const std::size_t padded = (pairs + lanes - 1) / lanes * lanes;
        std::fill(u1 + pairs, u1 + padded, 1.0);
        std::fill(u2 + pairs, u2 + padded, 0.0);
        for (std::size_t k = 0; k < padded; k += lanes) {
            const Batch r = xsimd::sqrt(Batch(-2.0) * xsimd::log(Batch::load_aligned(u1 + k)));
            const auto [sin_t, cos_t] = xsimd::sincos(Batch(2.0 * std::numbers::pi) * Batch::load_aligned(u2 + k));
            (r * cos_t).store_aligned(c + k);
            (r * sin_t).store_aligned(s + k);
        }
        for (std::size_t k = 0; k < pairs; ++k) {
            out[i++] = static_cast<float>(c[k]);
            if (i < n) {
                out[i++] = static_cast<float>(s[k]);
            } else {
                spare_ = static_cast<float>(s[k]);
                has_spare_ = true;
            }
        }
    }
}

std::uint64_t Generator::below(std::uint64_t n) {
    if (n == 0) throw Error("Generator::below(0): empty range");
    // Rejection sampling keeps it exactly uniform.
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
    std::uint64_t r;
    do r = engine_();
    while (r >= limit);
    return r % n;
}

std::string Generator::state() const {
    std::ostringstream os;
    os << engine_ << ' ' << has_spare_ << ' ';
    os.precision(9);
    os << spare_;
    return os.str();
}

void Generator::set_state(const std::string& s) {
    std::istringstream is(s);
    std::mt19937_64 e;
    bool has = false;
    float sp = 0.0f;
    is >> e >> has >> sp;
    if (!is) throw Error("Generator::set_state: malformed random-engine state");
    engine_ = e;
    has_spare_ = has;
    spare_ = sp;
}

Generator& generator() {
    thread_local Generator g(0);
    return g;
}

void manual_seed(std::uint64_t seed) { generator().seed(seed); }

SeedScope::SeedScope(std::uint64_t seed) : saved_(generator().state()) { generator().seed(seed); }
SeedScope::~SeedScope() { generator().set_state(saved_); }

// The RowSlice in force on this thread (the innermost), or none.
struct RowSliceAccess {
    static thread_local const RowSlice* current;
    static thread_local int packed;  // PackedRows alive
    static std::size_t rows(const RowSlice& r) { return r.rows_; }
    static std::size_t begin(const RowSlice& r) { return r.begin_; }
    static std::size_t end(const RowSlice& r) { return r.end_; }
    static const std::vector<std::size_t>& items(const RowSlice& r) { return r.items_; }
};
thread_local const RowSlice* RowSliceAccess::current = nullptr;
thread_local int RowSliceAccess::packed = 0;

RowSlice::RowSlice(std::size_t rows, std::size_t begin, std::size_t end, std::vector<std::size_t> items)
    : outer_(RowSliceAccess::current), rows_(rows), begin_(begin), end_(end), items_(std::move(items)) {
    if (!(begin < end && end <= rows))
        throw Error("RowSlice: rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") of a batch of " +
                    std::to_string(rows) + " is not a non-empty part of it");
    if (!items_.empty() && items_.size() != rows)
        throw Error("RowSlice: " + std::to_string(items_.size()) + " item counts for a batch of " + std::to_string(rows));
    RowSliceAccess::current = this;
}
RowSlice::~RowSlice() { RowSliceAccess::current = outer_; }

PackedRows::PackedRows() { ++RowSliceAccess::packed; }
PackedRows::~PackedRows() { --RowSliceAccess::packed; }

DrawSpan draw_span(const Shape& shape, const char* who) {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    const RowSlice* r = RowSliceAccess::current;
    if (!r) return {0, n};
    const std::size_t begin = RowSliceAccess::begin(*r), end = RowSliceAccess::end(*r), local = end - begin;
    const auto& items = RowSliceAccess::items(*r);
    if (RowSliceAccess::packed > 0 && !items.empty() && (shape.size() == 1 || shape.size() == 2)) {
        std::size_t before = 0, mine = 0, all = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            before += i < begin ? items[i] : 0;
            mine += i >= begin && i < end ? items[i] : 0;
            all += items[i];
        }
        const std::size_t per_token = shape.size() == 2 ? shape[1] : 1;
        if (shape[0] == mine) return {before * per_token, all * per_token};
    }
    if (shape.empty() || shape[0] % local != 0)
        throw Error(std::string(who) + ": a random tensor of shape " + shape_str(shape) +
                    " in a data-parallel step, whose first axis is not this process's " + std::to_string(local) +
                    " rows of the batch (or a multiple of them)");
    const std::size_t per_row = n / local;  // elements per example, whatever the first axis's multiple
    return {begin * per_row, RowSliceAccess::rows(*r) * per_row};
}

// (Loops run over raw pointers, since an xarray's own iterator keeps a
// multi-index and is many times slower, and on a local copy of the engine, which
// the compiler can keep in registers, copied back at the end.) Under a RowSlice the
// engine draws for the whole batch and the slice's part is kept.
namespace {
template <class Fill>
Array drawn(const Shape& shape, const char* who, Fill fill) {
    const DrawSpan span = draw_span(shape, who);
    Array a = Array::from_shape(shape);
    Generator g = generator();
    if (span.total == a.size()) {
        fill(g, a.data(), a.size());
    } else {
        std::vector<float> all(span.total);
        fill(g, all.data(), all.size());
        std::copy_n(all.data() + span.offset, a.size(), a.data());
    }
    generator() = g;
    return a;
}
}  // namespace

Array rand(const Shape& shape) {
    return drawn(shape, "rand", [](Generator& g, float* v, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) v[i] = g.uniform();
    });
}

Array randn(const Shape& shape) {
    return drawn(shape, "randn", [](Generator& g, float* v, std::size_t n) { g.normal(v, n); });
}

Array uniform(const Shape& shape, float lo, float hi) {
    return drawn(shape, "uniform", [lo, hi](Generator& g, float* v, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * g.uniform();
    });
}

namespace {
// Pairs [first, first + count) of the draws into out[0, 2 count): pair j is output j
// of the sequence from `key`, its low half compared first. Every argument is a value,
// so the compiler keeps them in registers and vectorises the loop (through a
// lambda's captured references, each byte stored could alias them, and the loop ran
// one pair at a time: 4x slower).
template <class T>
void fill_pairs(T* out, std::uint64_t key, std::size_t first, std::size_t count, std::uint64_t below, T if_true,
                T if_false) {
    for (std::size_t j = 0; j < count; ++j) {
        const std::uint64_t r = splitmix_mix(key + (first + j + 1) * splitmix_step);
        out[2 * j] = (r & 0xffffffffu) < below ? if_true : if_false;
        out[2 * j + 1] = (r >> 32) < below ? if_true : if_false;
    }
}

template <class T>
void fill_bernoulli_as(T* out, const Shape& shape, float p, T if_true, T if_false) {
    if (!(p >= 0.0f && p <= 1.0f)) throw Error("fill_bernoulli: probability " + std::to_string(p) + " must lie in [0, 1]");
    const DrawSpan span = draw_span(shape, "fill_bernoulli");
    const std::uint64_t key = generator().next_u64();
    // A value is if_true when its 32 random bits, as an integer, are below p * 2^32
    // (all of them when p = 1).
    const std::uint64_t below = static_cast<std::uint64_t>(static_cast<double>(p) * 0x1.0p32);
    auto flip = [below, if_true, if_false](std::uint64_t bits) { return bits < below ? if_true : if_false; };
    auto output = [key](std::size_t j) { return splitmix_mix(key + (j + 1) * splitmix_step); };
    // Element i of the draws (i = span.offset + position in out) is half i % 2 of
    // output i / 2. An odd offset starts with a high half; the rest go in pairs.
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    std::size_t first = span.offset;
    if (n > 0 && first % 2 == 1) {
        *out++ = flip(output(first / 2) >> 32);
        ++first;
        --n;
    }
    const std::size_t base = first / 2, pairs = n / 2;
    kernels::parallel_for(pairs, std::size_t{1} << 15, [&](std::size_t begin, std::size_t end, std::size_t) {
        fill_pairs(out + 2 * begin, key, base + begin, end - begin, below, if_true, if_false);
    });
    if (n % 2 == 1) out[n - 1] = flip(output(base + pairs) & 0xffffffffu);
}
}  // namespace

void fill_bernoulli(float* out, const Shape& shape, float p, float if_true, float if_false) {
    fill_bernoulli_as(out, shape, p, if_true, if_false);
}
void fill_bernoulli(std::uint8_t* out, const Shape& shape, float p, std::uint8_t if_true, std::uint8_t if_false) {
    fill_bernoulli_as(out, shape, p, if_true, if_false);
}

Array bernoulli(const Shape& shape, float p) {
    Array a = Array::from_shape(shape);
    fill_bernoulli(a.data(), shape, p, 1.0f, 0.0f);
    return a;
}

std::vector<std::size_t> randperm(std::size_t n) {
    std::vector<std::size_t> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = i;
    Generator& g = generator();
    for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[g.below(i)]);
    return p;
}

}  // namespace tapegrad::autograd
