// Every dedicated op (one tape entry with a hand-written rule) against its
// composed reference (autograd/ops/reference.hpp): values and every gradient, on
// random shapes and on the edge cases (an empty batch, a single row, length-1
// sequences, extreme logits).
#include <functional>
#include <limits>
#include <vector>

#include "autograd/kernels/parallel.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;
using namespace tapegrad::testing;

namespace {

using Op = std::function<Tensor(const Inputs&)>;

struct Run {
    Array value;
    std::vector<Array> grads;
};

// Runs op on fresh leaves holding `in` and sweeps back a fixed random seed.
Run run(const Op& op, const std::vector<Array>& in) {
    Inputs leaves;
    for (const Array& a : in) leaves.emplace_back(a, true);
    Tensor y = op(leaves);
    y.backward(random_array(y.shape(), 7, 0.5f, 1.5f));
    Run r{y.value(), {}};
    for (const Tensor& t : leaves) r.grads.push_back(t.has_grad() ? t.grad() : zeros(t.shape()));
    return r;
}

void check_same(const Op& fast, const Op& reference, const std::vector<Array>& in, double rtol = 1e-5,
                double atol = 1e-5) {
    const Run f = run(fast, in), r = run(reference, in);
    CHECK_CLOSE(f.value, r.value, rtol, atol);
    for (std::size_t i = 0; i < in.size(); ++i) {
        INFO("gradient of input " << i);
        CHECK_CLOSE(f.grads[i], r.grads[i], rtol, atol);
    }
}

Array scaled(Array a, float k) {
    a *= k;
    return a;
}

Indices targets(std::size_t n, std::size_t classes, std::uint64_t seed) {
    Indices t = Indices::from_shape({n});
    const Array u = random_array({n}, seed, 0.0f, 1.0f);
    for (std::size_t i = 0; i < n; ++i) t(i) = static_cast<std::int64_t>(u(i) * static_cast<float>(classes));
    if (n > 2) t(1) = default_ignore_index;
    return t;
}

}  // namespace

TEST_CASE("logsumexp, softmax, log_softmax: the dedicated rules equal their compositions, any axis, extreme values") {
    for (const Shape& shape : {Shape{3, 5}, Shape{1, 7}, Shape{2, 3, 4}, Shape{0, 4}})
        for (float scale : {1.0f, 80.0f})  // 80: exp overflows a float unless the maximum is shifted out
            for (int axis : {0, -1}) {
                if (shape[0] == 0 && axis == 0) continue;  // an empty axis has no maximum
                CAPTURE(shape_str(shape));
                CAPTURE(scale);
                CAPTURE(axis);
                const std::vector<Array> in{scaled(random_array(shape, 301), scale)};
                check_same([=](const Inputs& x) { return logsumexp(x[0], axis); },
                           [=](const Inputs& x) { return reference::logsumexp(x[0], axis); }, in, 1e-5, 1e-4);
                check_same([=](const Inputs& x) { return softmax(x[0], axis); },
                           [=](const Inputs& x) { return reference::softmax(x[0], axis); }, in);
                check_same([=](const Inputs& x) { return log_softmax(x[0], axis); },
                           [=](const Inputs& x) { return reference::log_softmax(x[0], axis); }, in, 1e-5, 1e-4);
            }
}

TEST_CASE("matmul_transposed: a b^T without the copy equals matmul of the transpose, batches broadcast") {
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{3, 4}, {5, 4}}, {{2, 3, 4}, {2, 5, 4}}, {{2, 1, 3, 4}, {3, 5, 4}}, {{2, 3, 4}, {5, 4}}, {{1, 4}, {1, 4}}, {{0, 3, 4}, {0, 2, 4}}};
    for (const auto& [sa, sb] : shapes) {
        CAPTURE(shape_str(sa));
        CAPTURE(shape_str(sb));
        check_same([](const Inputs& x) { return matmul_transposed(x[0], x[1]); },
                   [](const Inputs& x) { return reference::matmul_transposed(x[0], x[1]); },
                   {random_array(sa, 311), random_array(sb, 312)});
    }
    check_gradients([](const Inputs& x) { return matmul_transposed(x[0], x[1]); },
                    {random_array({2, 1, 3, 4}, 313), random_array({3, 2, 4}, 314)});
    CHECK_THROWS_WITH_AS(matmul_transposed(Tensor(zeros({2, 3, 4})), Tensor(zeros({2, 5, 3}))),
                         "matmul_transposed: shapes [2, 3, 4] and [2, 5, 3] do not fit ([..., M, K] times [..., N, K] transposed)",
                         Error);
}

TEST_CASE("gelu: the vectorised, threaded loops equal the composition with erf or tanh, on any number of threads") {
    // 70001 elements: the pool splits them, and the last few fall outside a whole batch.
    for (const Gelu form : {Gelu::exact, Gelu::tanh}) {
        CAPTURE(form == Gelu::exact);
        for (const Shape& s : std::vector<Shape>{{3, 5}, {70001}, {0, 4}})
            check_same([form](const Inputs& x) { return gelu(x[0], form); },
                       [form](const Inputs& x) { return reference::gelu(x[0], form); }, {random_array(s, 330, -6.0f, 6.0f)},
                       1e-5, 1e-6);
        const Array x = random_array({70001}, 331, -6.0f, 6.0f);
        auto on = [&](int threads) {
            const int before = kernels::num_threads();
            kernels::set_num_threads(threads);
            const Run r = run([form](const Inputs& v) { return gelu(v[0], form); }, {x});
            kernels::set_num_threads(before);
            return r;
        };
        const Run one = on(1), two = on(2);
        CHECK_ARRAY_EQ(two.value, one.value);
        CHECK_ARRAY_EQ(two.grads[0], one.grads[0]);
    }
}

TEST_CASE("attention_heads: the same bits as splitting the heads, attending and merging, masks and dropout included") {
    // Bit for bit: each (batch, head) pair makes the products batched matmul makes
    // and the row passes of the composed softmax, dropout and scaling.
    const Array causal = causal_mask(5);
    Array padding = zeros({2, 1, 1, 5});
    padding(1, 0, 0, 3) = padding(1, 0, 0, 4) = -std::numeric_limits<float>::infinity();
    const Tensor self_mask(causal + padding);
    Array cross_padding = zeros({2, 1, 1, 3});
    cross_padding(0, 0, 0, 2) = -std::numeric_limits<float>::infinity();
    Array blocked = causal_mask(2);  // the second query sees no key
    blocked(1, 0) = blocked(1, 1) = -std::numeric_limits<float>::infinity();
    struct Case {
        const char* name;
        Shape q, kv;  // kv empty: q and kv are one tensor
        HeadRanges r;
        Tensor mask;
        float dropout;
    };
    const std::vector<Case> cases{
        {"self, causal and padding", {2, 5, 12}, {}, {.heads = 2, .width = 4, .q = 0, .k = 4, .v = 8}, self_mask, 0.0f},
        {"self, dropout", {2, 5, 12}, {}, {.heads = 2, .width = 4, .q = 8, .k = 0, .v = 4}, self_mask, 0.3f},
        {"self, spare features", {2, 5, 14}, {}, {.heads = 3, .width = 3, .q = 1, .k = 5, .v = 10}, Tensor(causal), 0.0f},
        {"cross, padded memory", {2, 5, 6}, {2, 3, 9}, {.heads = 2, .width = 4, .q = 1, .k = 0, .v = 5}, Tensor(cross_padding), 0.2f},
        {"cross, one key, no mask", {2, 4, 8}, {2, 1, 16}, {.heads = 4, .width = 8, .q = 0, .k = 0, .v = 8}, Tensor(), 0.0f},
        {"every key of a row masked", {1, 2, 6}, {}, {.heads = 1, .width = 2, .q = 0, .k = 2, .v = 4}, Tensor(blocked), 0.0f},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        std::vector<Array> in{random_array(c.q, 340)};
        if (!c.kv.empty()) in.push_back(random_array(c.kv, 341));
        auto op = [&](bool fast) {
            return [&, fast](const Inputs& x) {
                autograd::manual_seed(9);  // the same dropout draws on both sides
                const Tensor& kv = x.size() > 1 ? x[1] : x[0];
                return fast ? attention_heads(x[0], kv, c.r, c.mask, c.dropout)
                            : reference::attention_heads(x[0], kv, c.r, c.mask, c.dropout);
            };
        };
        const Run f = run(op(true), in), r = run(op(false), in);
        CHECK_ARRAY_EQ(f.value, r.value);
        for (std::size_t i = 0; i < in.size(); ++i) CHECK_ARRAY_EQ(f.grads[i], r.grads[i]);
        if (c.dropout == 0.0f) check_gradients(op(true), in);
    }
    const Tensor qkv(random_array({2, 5, 12}, 342));
    CHECK_THROWS_WITH_AS(attention_heads(qkv, qkv, {.heads = 2, .width = 4, .q = 0, .k = 2, .v = 8}),
                         doctest::Contains("ranges of one tensor overlap"), Error);
    CHECK_THROWS_WITH_AS(attention_heads(qkv, qkv, {.heads = 3, .width = 4, .q = 0, .k = 4, .v = 8}),
                         doctest::Contains("a positive multiple of the heads"), Error);
    CHECK_THROWS_WITH_AS(attention_heads(qkv, qkv, {.heads = 2, .width = 4, .q = 0, .k = 4, .v = 9}),
                         doctest::Contains("a range runs past the features"), Error);
    CHECK_THROWS_WITH_AS(attention_heads(qkv, qkv, {.heads = 2, .width = 4, .q = 0, .k = 4, .v = 8}, Tensor(zeros({5, 5}), true)),
                         doctest::Contains("the mask must be a constant"), Error);
    CHECK_THROWS_WITH_AS(attention_heads(qkv, qkv, {.heads = 2, .width = 4, .q = 0, .k = 4, .v = 8}, Tensor(zeros({3, 5}))),
                         doctest::Contains("attention_heads (mask)"), Error);
    CHECK_THROWS_WITH_AS(attention_heads(qkv, Tensor(zeros({3, 5, 8})), {.heads = 2, .width = 4, .q = 0, .k = 0, .v = 4}),
                         doctest::Contains("one batch"), Error);
}

TEST_CASE("split_heads and merge_heads: one copy each, equal to slice, reshape and transpose") {
    struct Case {
        Shape x;
        std::size_t heads, from, width;
    };
    for (const Case& c : std::vector<Case>{{{2, 3, 12}, 2, 0, 0}, {{2, 3, 12}, 2, 4, 4}, {{1, 5, 9}, 3, 3, 6}, {{2, 1, 8}, 4, 0, 8}, {{0, 2, 6}, 2, 0, 6}}) {
        CAPTURE(shape_str(c.x));
        CAPTURE(c.from);
        check_same([&](const Inputs& x) { return split_heads(x[0], c.heads, c.from, c.width); },
                   [&](const Inputs& x) { return reference::split_heads(x[0], c.heads, c.from, c.width); },
                   {random_array(c.x, 321)});
    }
    for (const Shape& s : std::vector<Shape>{{2, 3, 4, 5}, {1, 1, 2, 3}, {2, 4, 1, 8}})
        check_same([](const Inputs& x) { return merge_heads(x[0]); }, [](const Inputs& x) { return reference::merge_heads(x[0]); },
                   {random_array(s, 322)});
    check_gradients([](const Inputs& x) { return split_heads(x[0], 2, 2, 4); }, {random_array({2, 3, 7}, 323)});
    check_gradients([](const Inputs& x) { return merge_heads(x[0]); }, {random_array({2, 3, 2, 2}, 324)});
    const Array x = random_array({2, 3, 12}, 325);
    CHECK_ARRAY_EQ(merge_heads(split_heads(Tensor(x), 3)).value(), x);  // the two undo each other
    CHECK_THROWS_WITH_AS(split_heads(Tensor(x), 4, 2), doctest::Contains("features [2, 12) of x [2, 3, 12] do not split into 4 heads"), Error);
    CHECK_THROWS_WITH_AS(split_heads(Tensor(x), 2, 8, 8), doctest::Contains("do not split into 2 heads"), Error);
    CHECK_THROWS_WITH_AS(split_heads(Tensor(zeros({3, 4})), 2), doctest::Contains("must be [B, L, F]"), Error);
    CHECK_THROWS_WITH_AS(merge_heads(Tensor(x)), doctest::Contains("merge_heads: x [2, 3, 12] must be [B, H, L, d]"), Error);
}

TEST_CASE("cross_entropy and linear_cross_entropy: the dedicated rules equal their compositions") {
    for (std::size_t N : {6, 1, 0})
        for (float scale : {1.0f, 60.0f})
            for (auto r : {Reduction::none, Reduction::mean, Reduction::sum}) {
                CAPTURE(N);
                CAPTURE(scale);
                CAPTURE(static_cast<int>(r));
                const Indices t = targets(N, 9, 302 + N);
                check_same([=](const Inputs& x) { return cross_entropy(x[0], t, r); },
                           [=](const Inputs& x) { return reference::cross_entropy(x[0], t, r); },
                           {scaled(random_array({N, 9}, 303), scale)}, 1e-5, 1e-4);
                const std::vector<Array> in{scaled(random_array({N, 5}, 304), scale), random_array({9, 5}, 305),
                                            random_array({9}, 306)};
                check_same([=](const Inputs& x) { return linear_cross_entropy(x[0], x[1], x[2], t, r); },
                           [=](const Inputs& x) { return reference::linear_cross_entropy(x[0], x[1], x[2], t, r); }, in,
                           1e-4, 1e-3);
                check_same([=](const Inputs& x) { return linear_cross_entropy(x[0], x[1], Tensor(), t, r); },
                           [=](const Inputs& x) { return reference::linear_cross_entropy(x[0], x[1], Tensor(), t, r); },
                           {in[0], in[1]}, 1e-4, 1e-3);
            }
}

TEST_CASE("binary_cross_entropy_with_logits: the dedicated rule equals its composition, extreme logits included") {
    for (const Shape& shape : {Shape{4, 6}, Shape{1, 1}, Shape{3}})
        for (float scale : {1.0f, 50.0f})
            for (auto r : {Reduction::none, Reduction::mean, Reduction::sum}) {
                CAPTURE(shape_str(shape));
                CAPTURE(scale);
                const std::vector<Array> in{scaled(random_array(shape, 307), scale), random_array(shape, 308, 0.0f, 1.0f)};
                check_same([=](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1], r); },
                           [=](const Inputs& x) { return reference::binary_cross_entropy_with_logits(x[0], x[1], r); }, in,
                           1e-5, 1e-4);
            }
    // An empty batch: a sum of nothing is 0; a mean of nothing is refused, as mean() refuses it.
    const std::vector<Array> empty{zeros({0, 3}), zeros({0, 3})};
    check_same([](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1], Reduction::sum); },
               [](const Inputs& x) { return reference::binary_cross_entropy_with_logits(x[0], x[1], Reduction::sum); },
               empty);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(Tensor(empty[0]), Tensor(empty[1])),
                         "binary_cross_entropy_with_logits: the mean of zero elements (shape [0, 3])", Error);
}

TEST_CASE("gru_layer and lstm_layer: the fused layers equal the cells run step by step") {
    struct Case {
        std::size_t B, T;
        std::vector<std::size_t> lengths;
    };
    const std::vector<Case> cases{{4, 5, {5, 2, 1, 4}}, {1, 1, {}}, {3, 3, {1, 1, 1}}, {2, 4, {}}, {0, 3, {}}};
    const std::size_t I = 3, H = 4;
    for (const Case& c : cases)
        for (bool reverse : {false, true}) {
            CAPTURE(c.B);
            CAPTURE(c.T);
            CAPTURE(reverse);
            const std::vector<Array> gru_in{random_array({c.B, c.T, I}, 310), random_array({c.B, H}, 311),
                                            random_array({3 * H, I}, 312), random_array({3 * H, H}, 313),
                                            random_array({3 * H}, 314), random_array({3 * H}, 315)};
            check_same(
                [&](const Inputs& x) { return gru_layer(x[0], x[1], x[2], x[3], x[4], x[5], c.lengths, reverse); },
                [&](const Inputs& x) {
                    return reference::gru_layer(x[0], x[1], x[2], x[3], x[4], x[5], c.lengths, reverse);
                },
                gru_in);
            const std::vector<Array> lstm_in{random_array({c.B, c.T, I}, 320), random_array({c.B, H}, 321),
                                             random_array({c.B, H}, 322), random_array({4 * H, I}, 323),
                                             random_array({4 * H, H}, 324), random_array({4 * H}, 325),
                                             random_array({4 * H}, 326)};
            check_same(
                [&](const Inputs& x) {
                    return lstm_layer(x[0], x[1], x[2], x[3], x[4], x[5], x[6], c.lengths, reverse);
                },
                [&](const Inputs& x) {
                    return reference::lstm_layer(x[0], x[1], x[2], x[3], x[4], x[5], x[6], c.lengths, reverse);
                },
                lstm_in);
        }
}

TEST_CASE("tape: a rule that returns a gradient of the wrong shape is an internal error naming the op") {
    Tensor x(random_array({2, 3}, 330), true);
    Tensor y = record("broken_op", x.value() * 2.0f, {x}, [](Step&) -> Grads { return {zeros({4})}; });
    CHECK_THROWS_WITH_AS(sum(y).backward(),
                         "internal error: the backward rule of 'broken_op' returned a gradient of shape [4] for an "
                         "input of shape [2, 3]",
                         Error);
}

TEST_CASE("linear_cross_entropy: an input switched to requires_grad after the forward pass still gets its gradient") {
    const Array x = random_array({4, 3}, 331), w = random_array({5, 3}, 332);
    const Indices t = {0, 4, 2, 2};
    Tensor xa(x, true), wa(w);  // the weight needs no gradient when the loss is computed ...
    Tensor loss = linear_cross_entropy(xa, wa, Tensor(), t);
    wa.set_requires_grad(true);  // ... but does by the time backward() runs
    loss.backward();
    Tensor xb(x, true), wb(w, true);
    reference::linear_cross_entropy(xb, wb, Tensor(), t).backward();
    CHECK_CLOSE(wa.grad(), wb.grad(), 1e-5, 1e-6);
    CHECK_CLOSE(xa.grad(), xb.grad(), 1e-5, 1e-6);
}
