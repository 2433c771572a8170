// parallel_for: the split of a range between the caller and the helper threads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "autograd/kernels/blas.hpp"
#include "autograd/kernels/parallel.hpp"
#include "autograd/kernels/simd.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
struct Threads {  // sets the pool size for one test and restores it
    int before = kernels::num_threads();
    explicit Threads(int n) { kernels::set_num_threads(n); }
    ~Threads() { kernels::set_num_threads(before); }
};
}  // namespace

TEST_CASE("parallel_for: two threads cover the range once, in two disjoint pieces numbered in order") {
    Threads two(2);
    std::vector<int> hits(1000, 0);
    std::size_t begins[2] = {99, 99};
    const std::size_t parts = kernels::parallel_for(hits.size(), 100, [&](std::size_t b, std::size_t e, std::size_t part) {
        begins[part] = b;
        for (std::size_t i = b; i < e; ++i) ++hits[i];
    });
    CHECK(parts == 2);
    for (int h : hits) REQUIRE(h == 1);
    CHECK(begins[0] == 0);
    CHECK(begins[1] % 16 == 0);  // the split falls on the grain
    CHECK(begins[1] > 0);
    // Many small jobs in a row (as one product per GRU step) all complete.
    std::atomic<long> sum{0};
    for (int j = 0; j < 2000; ++j)
        kernels::parallel_for(64, 16, [&](std::size_t b, std::size_t e, std::size_t) {
            for (std::size_t i = b; i < e; ++i) sum += static_cast<long>(i);
        });
    CHECK(sum == 2000L * (63 * 64 / 2));
}

TEST_CASE("parallel_for: a helper runs a piece while the caller runs the other") {
    Threads two(2);
    // Each piece waits until both have started: only two threads at once get past it.
    std::atomic<int> started{0};
    std::thread::id ids[2];
    bool both_ran_at_once = true;
    kernels::parallel_for(1000, 10, [&](std::size_t, std::size_t, std::size_t part) {
        ids[part] = std::this_thread::get_id();
        ++started;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (started < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        if (started < 2) both_ran_at_once = false;
    });
    CHECK(both_ran_at_once);
    CHECK(ids[0] != ids[1]);
}

TEST_CASE("parallel_for: pieces no helper takes (a helper the system did not schedule) are done by the caller") {
    Threads two(2);
    kernels::set_helpers_paused(true);
    std::vector<std::thread::id> ran(2);
    std::vector<int> hits(1000, 0);
    const std::size_t parts = kernels::parallel_for(hits.size(), 10, [&](std::size_t b, std::size_t e, std::size_t part) {
        ran[part] = std::this_thread::get_id();
        for (std::size_t i = b; i < e; ++i) ++hits[i];
    });
    kernels::set_helpers_paused(false);
    CHECK(parts == 2);
    for (int h : hits) REQUIRE(h == 1);
    CHECK(ran[0] == std::this_thread::get_id());
    CHECK(ran[1] == std::this_thread::get_id());
    // ... and the helpers take pieces again afterwards.
    std::atomic<int> started{0};
    bool both = true;
    kernels::parallel_for(1000, 10, [&](std::size_t, std::size_t, std::size_t) {
        ++started;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (started < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
        both = both && started >= 2;
    });
    CHECK(both);
}

TEST_CASE("parallel_for: one thread, or a small range, runs everything on the caller") {
    {
        Threads one(1);
        std::size_t calls = 0;
        CHECK(kernels::parallel_for(1000, 10, [&](std::size_t b, std::size_t e, std::size_t part) {
                  ++calls;
                  CHECK(b == 0);
                  CHECK(e == 1000);
                  CHECK(part == 0);
              }) == 1);
        CHECK(calls == 1);
    }
    Threads two(2);
    CHECK(kernels::parallel_for(15, 8, [](std::size_t, std::size_t, std::size_t part) { CHECK(part == 0); }) == 1);
}

TEST_CASE("parallel_for: an exception from the helper's piece reaches the caller, after both pieces finished") {
    Threads two(2);
    std::atomic<int> finished{0};
    CHECK_THROWS_WITH(kernels::parallel_for(1000, 10,
                                             [&](std::size_t, std::size_t, std::size_t part) {
                                                 ++finished;
                                                 if (part == 1) throw std::runtime_error("helper failed");
                                             }),
                      "helper failed");
    CHECK(finished == 2);
    // The helper is still usable afterwards.
    CHECK(kernels::parallel_for(1000, 10, [](std::size_t, std::size_t, std::size_t) {}) == 2);
}

TEST_CASE("parallel_for: two user threads at once both get their whole range done") {
    Threads two(2);
    auto work = [](std::vector<int>& hits) {
        for (int j = 0; j < 300; ++j)
            kernels::parallel_for(hits.size(), 16, [&](std::size_t b, std::size_t e, std::size_t) {
                for (std::size_t i = b; i < e; ++i) ++hits[i];
            });
    };
    std::vector<int> mine(500, 0), theirs(700, 0);
    std::thread other(work, std::ref(theirs));
    work(mine);
    other.join();
    for (int h : mine) REQUIRE(h == 300);
    for (int h : theirs) REQUIRE(h == 300);
}

TEST_CASE("parallel_for: three threads (more than this machine's cores) cover the range once, one piece each") {
    Threads three(3);
    // {items, pieces}: pieces start at multiples of 16 and hold 8 items on average at least.
    for (auto [n, expected] : {std::pair<std::size_t, std::size_t>{1000, 3}, {50, 3}, {33, 3}, {20, 2}}) {
        std::vector<int> hits(n, 0), calls(3, 0);
        const std::size_t parts = kernels::parallel_for(n, 8, [&](std::size_t b, std::size_t e, std::size_t part) {
            ++calls[part];
            for (std::size_t i = b; i < e; ++i) ++hits[i];
        });
        INFO("n = " << n);
        CHECK(parts == expected);
        for (int h : hits) REQUIRE(h == 1);
        for (std::size_t p = 0; p < parts; ++p) CHECK(calls[p] == 1);
    }
    // A product split three ways agrees with one computed on one thread.
    const Array a = random_array({64, 300}, 7), b = random_array({300, 500}, 8);
    Array split = Array::from_shape({64, 500}), single = Array::from_shape({64, 500});
    kernels::sgemm(false, false, 64, 500, 300, 1.0f, a.data(), 300, b.data(), 500, 0.0f, split.data(), 500);
    {
        Threads one(1);
        kernels::sgemm(false, false, 64, 500, 300, 1.0f, a.data(), 300, b.data(), 500, 0.0f, single.data(), 500);
    }
    CHECK_CLOSE(split, single, 1e-5, 1e-5);
}

TEST_CASE("parallel_for: most_parts caps the pieces; an exception on the caller's piece waits for the helpers") {
    Threads three(3);
    std::size_t seen_parts = 0;
    CHECK(kernels::parallel_for(1000, 8, [&](std::size_t, std::size_t, std::size_t part) { seen_parts = std::max(seen_parts, part + 1); },
                                 16, 2) == 2);
    CHECK(seen_parts == 2);
    std::atomic<int> finished{0};
    CHECK_THROWS_WITH(kernels::parallel_for(1000, 10,
                                             [&](std::size_t, std::size_t, std::size_t part) {
                                                 if (part == 0) throw std::runtime_error("caller failed");
                                                 std::this_thread::sleep_for(std::chrono::milliseconds(20));
                                                 ++finished;
                                             }),
                      "caller failed");
    CHECK(finished == 2);  // both helpers' pieces were done before the exception left
}

TEST_CASE("parallel_for: a parallel_for inside a piece runs on that piece's thread alone") {
    Threads two(2);
    std::atomic<int> inner_parts{0}, covered{0};
    kernels::parallel_for(100, 10, [&](std::size_t b, std::size_t e, std::size_t) {
        inner_parts += static_cast<int>(kernels::parallel_for(e - b, 1, [&](std::size_t ib, std::size_t ie, std::size_t) {
            covered += static_cast<int>(ie - ib);
        }));
    });
    CHECK(inner_parts == 2);  // one part each, inside both pieces
    CHECK(covered == 100);
}

// Dropout's masks: filled in pieces by the pool, from one draw of the engine.
TEST_CASE("fill_bernoulli: the same values on 1, 2 and 3 threads, at rate p, with independent neighbours") {
    using autograd::fill_bernoulli;
    const std::size_t n = 200001;  // odd: the last value has an output of its own
    const double p = 0.3;
    auto fill = [&](int threads) {
        Threads t(threads);
        autograd::manual_seed(5);
        std::vector<float> v(n, -1.0f);
        fill_bernoulli(v.data(), Shape{n}, static_cast<float>(p), 2.0f, 0.5f);
        return v;
    };
    const std::vector<float> one = fill(1);
    CHECK(fill(2) == one);
    CHECK(fill(3) == one);  // three pieces
    CHECK(std::all_of(one.begin(), one.end(), [](float x) { return x == 2.0f || x == 0.5f; }));
    // The rate, and pairs of neighbours (inside one 64-bit output, and across two)
    // true together at rate p^2: each within 5 standard errors.
    auto near = [](double count, double trials, double q) {
        return std::abs(count / trials - q) < 5.0 * std::sqrt(q * (1.0 - q) / trials);
    };
    double hits = 0, inside = 0, across = 0;
    for (std::size_t i = 0; i < n; ++i) hits += one[i] == 2.0f;
    for (std::size_t i = 0; i + 1 < n; i += 2) inside += one[i] == 2.0f && one[i + 1] == 2.0f;
    for (std::size_t i = 1; i + 1 < n; i += 2) across += one[i] == 2.0f && one[i + 1] == 2.0f;
    CHECK(near(hits, n, p));
    CHECK(near(inside, n / 2, p * p));
    CHECK(near(across, n / 2, p * p));
    // The engine moved on: the next mask differs; p = 0 and p = 1 are exact.
    std::vector<float> next(n), edge(n);
    fill_bernoulli(next.data(), Shape{n}, static_cast<float>(p), 2.0f, 0.5f);
    CHECK(next != fill(1));
    fill_bernoulli(edge.data(), Shape{n}, 0.0f, 2.0f, 0.5f);
    CHECK(std::count(edge.begin(), edge.end(), 0.5f) == static_cast<long>(n));
    fill_bernoulli(edge.data(), Shape{n}, 1.0f, 2.0f, 0.5f);
    CHECK(std::count(edge.begin(), edge.end(), 2.0f) == static_cast<long>(n));
    CHECK_THROWS_WITH_AS(fill_bernoulli(edge.data(), Shape{n}, 1.5f, 1.0f, 0.0f), doctest::Contains("must lie in [0, 1]"), Error);
}

TEST_CASE("bernoulli: an array of ones at rate p and zeros, the mask fill_bernoulli draws") {
    autograd::manual_seed(8);
    const Array b = autograd::bernoulli({500, 40}, 0.25f);
    CHECK(b.shape() == Array::shape_type{500, 40});
    CHECK(std::all_of(b.begin(), b.end(), [](float x) { return x == 0.0f || x == 1.0f; }));
    const double mean = xt::sum(b)() / static_cast<double>(b.size());
    CHECK(std::abs(mean - 0.25) < 5.0 * std::sqrt(0.25 * 0.75 / static_cast<double>(b.size())));
    autograd::manual_seed(8);
    std::vector<float> same(b.size());
    autograd::fill_bernoulli(same.data(), Shape{500, 40}, 0.25f, 1.0f, 0.0f);
    CHECK(std::equal(same.begin(), same.end(), b.begin()));
    CHECK_THROWS_WITH_AS(autograd::bernoulli({3}, -0.1f), doctest::Contains("must lie in [0, 1]"), Error);
}

// Data parallelism: processes holding rows of a batch draw what one process with
// the whole batch draws (random.hpp, RowSlice).
TEST_CASE("RowSlice: the rows of a batch drawn in slices are the whole batch's draws, and the engine ends alike") {
    const std::size_t B = 7;
    const Shape shape{B, 3, 5};  // 15 elements a row: odd, so slices start on both halves of an output
    auto whole = [&](auto draw) {
        autograd::manual_seed(11);
        Array a = draw(shape);
        return std::make_pair(a, autograd::generator().state());
    };
    auto sliced = [&](auto draw, std::vector<std::size_t> cuts) {
        Array out = Array::from_shape(shape);
        std::string state;
        for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
            autograd::manual_seed(11);  // every process starts from the same state
            autograd::RowSlice slice(B, cuts[k], cuts[k + 1]);
            const Array part = draw(Shape{cuts[k + 1] - cuts[k], 3, 5});
            std::copy(part.begin(), part.end(), out.data() + cuts[k] * 15);
            const std::string s = autograd::generator().state();
            if (k > 0) CHECK(s == state);
            state = s;
        }
        return std::make_pair(out, state);
    };
    auto check_draw = [&](auto draw) {
        const auto full = whole(draw);
        for (const auto& cuts : {std::vector<std::size_t>{0, 7}, {0, 3, 7}, {0, 1, 4, 7}}) {
            const auto parts = sliced(draw, cuts);
            CHECK(parts.first == full.first);
            CHECK(parts.second == full.second);
        }
    };
    check_draw([](const Shape& s) { return autograd::randn(s); });
    check_draw([](const Shape& s) { return autograd::rand(s); });
    check_draw([](const Shape& s) { return autograd::bernoulli(s, 0.4f); });
    check_draw([](const Shape& s) { return autograd::dropout(Tensor(xt::ones<float>(s)), 0.3f).value(); });
    // Attention's [B * heads, ...] first axis (batch-major) is sliced by examples too.
    autograd::manual_seed(3);
    const Array heads = autograd::randn({2 * B, 4});
    autograd::manual_seed(3);
    Array part;
    {
        autograd::RowSlice slice(B, 2, 5);
        part = autograd::randn({2 * 3, 4});
    }
    CHECK(part == xt::view(heads, xt::range(4, 10), xt::all()));
    // Packed tokens (PackedRows): examples of 2, 3, 1 and 4 tokens; rows 1 and 2 hold tokens 2..5.
    autograd::manual_seed(4);
    const Array tokens = autograd::randn({10, 3});
    autograd::manual_seed(4);
    {
        autograd::RowSlice slice(4, 1, 3, {2, 3, 1, 4});
        autograd::PackedRows packed;
        part = autograd::randn({4, 3});
    }
    CHECK(part == xt::view(tokens, xt::range(2, 6), xt::all()));
    // A draw whose first axis is not the batch cannot be matched to examples.
    autograd::RowSlice slice(B, 0, 3);
    CHECK_THROWS_WITH_AS(autograd::randn({4, 3}), doctest::Contains("first axis is not this process's 3 rows"), Error);
    CHECK_THROWS_WITH_AS(autograd::RowSlice(B, 5, 9), doctest::Contains("is not a non-empty part"), Error);
}

TEST_CASE("gather: a large table's gradient, split over 1, 2 and 3 threads by rows, is the serial scatter-add") {
    const std::size_t V = 1500, D = 5, n = 400;
    const std::int64_t no_grad = 7;
    std::vector<std::int64_t> ids(n);
    for (std::size_t k = 0; k < n; ++k) ids[k] = static_cast<std::int64_t>((k * 7919 + k * k) % V);  // repeats
    ids[0] = 0;
    ids[1] = static_cast<std::int64_t>(V - 1);
    ids[2] = ids[3] = no_grad;
    // Rows on both sides of where two threads (752) and three threads (512, 1008)
    // cut the table (pieces start at multiples of parallel_for's grain, 16).
    const std::int64_t edges[] = {511, 512, 751, 752, 1007, 1008};
    for (std::size_t e = 0; e < 6; ++e) ids[4 + 2 * e] = ids[5 + 2 * e] = edges[e];
    const Array g = random_array({n, D}, 70);
    Array want = zeros({V, D});
    for (std::size_t k = 0; k < n; ++k)
        if (ids[k] != no_grad)
            for (std::size_t d = 0; d < D; ++d) want.data()[ids[k] * D + d] += g.data()[k * D + d];
    for (const int threads : {1, 2, 3}) {
        Threads t(threads);
        autograd::Tensor table(zeros({V, D}), true);
        Indices index = Indices::from_shape({n});
        std::copy(ids.begin(), ids.end(), index.data());
        autograd::gather(table, index, no_grad).backward(Array(g));
        CHECK_ARRAY_EQ(table.grad(), want);
    }
}

// Gradient clipping's norm and scaling: whole gradients are split over the pool.
TEST_CASE("sum_of_squares and scale: the same numbers on 1, 2 and 3 threads, and the sum within rounding of a double sum") {
    const std::size_t n = (std::size_t{1} << 18) + 37;  // blocks over the pool, and a tail outside any batch
    const Array x = random_array({n}, 77, -2.0f, 2.0f);
    double exact = 0.0;
    for (std::size_t i = 0; i < n; ++i) exact += static_cast<double>(x.data()[i]) * x.data()[i];
    auto on = [&](int threads) {
        Threads t(threads);
        Array y = x;
        kernels::scale(0.75f, y.data(), n);
        return std::pair{kernels::sum_of_squares(x.data(), n), y};
    };
    const auto [one, scaled] = on(1);
    CHECK(std::abs(one - exact) < 1e-5 * exact);
    for (int threads : {2, 3}) {
        const auto [sum, y] = on(threads);
        CHECK(sum == one);
        CHECK_ARRAY_EQ(y, scaled);
    }
    CHECK(scaled.data()[n - 1] == 0.75f * x.data()[n - 1]);
}
