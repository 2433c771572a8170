// The Transformer's ops: batched matmul, layer_norm, gelu, the masked softmax
// family and scaled dot-product attention, against PyTorch fixtures, finite
// differences and (for the dedicated ones) their composed references.
#include <cmath>
#include <limits>

#include "tests/support/check.hpp"
#include "tests/support/fixtures.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;
using namespace tapegrad::testing;

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();

// sum(y * g) for a tensor and its fixture weights.
Tensor weighted(const Tensor& y, const std::string& group, const std::string& name) {
    return sum(y * Tensor(fixture(group, name)));
}
}  // namespace

TEST_CASE("matmul: batched [B, M, K] x [B, K, N] and broadcast batch axes match PyTorch") {
    for (const std::string group : {"matmul_batched", "matmul_broadcast"}) {
        CAPTURE(group);
        Tensor a(fixture(group, "a"), true), b(fixture(group, "b"), true);
        Tensor y = matmul(a, b);
        CHECK_TORCH(y.value(), fixture(group, "y"));
        weighted(y, group, "g_y").backward();
        CHECK_TORCH(a.grad(), fixture(group, "grad_a"));
        CHECK_TORCH(b.grad(), fixture(group, "grad_b"));
    }
    check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {random_array({2, 1, 3, 4}, 501), random_array({3, 4, 2}, 502)});
    check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {random_array({3, 4}, 503), random_array({2, 4, 2}, 504)});
    CHECK_THROWS_WITH_AS(matmul(Tensor(zeros({2, 3, 4})), Tensor(zeros({3, 4, 5}))),
                         "matmul: shapes [2] and [3] cannot be broadcast together (axis 0: 2 vs 3)", Error);
    CHECK_THROWS_WITH_AS(matmul(Tensor(zeros({2, 3, 4})), Tensor(zeros({2, 5, 5}))),
                         "matmul: shapes [2, 3, 4] and [2, 5, 5] do not fit ([..., M, K] times [..., K, N])", Error);
}

TEST_CASE("layer_norm: matches PyTorch, its composition and finite differences, also with a large mean") {
    for (const std::string group : {"layer_norm", "layer_norm_module"}) {
        CAPTURE(group);
        Tensor x(fixture(group, "x"), true), w(fixture(group, "weight"), true), b(fixture(group, "bias"), true);
        Tensor y = layer_norm(x, w, b);
        CHECK_TORCH(y.value(), fixture(group, "y"));
        weighted(y, group, "g_y").backward();
        CHECK_TORCH(x.grad(), fixture(group, "grad_x"));
        CHECK_TORCH(w.grad(), fixture(group, "grad_weight"));
        CHECK_TORCH(b.grad(), fixture(group, "grad_bias"));
    }
    const Array x = random_array({3, 4, 6}, 505), w = random_array({6}, 506, 0.5f, 1.5f), b = random_array({6}, 507);
    check_gradients([](const Inputs& v) { return layer_norm(v[0], v[1], v[2]); }, {x, w, b});
    check_gradients([](const Inputs& v) { return layer_norm(v[0], Tensor(), Tensor()); }, {x});
    Tensor fast(x, true), composed(x, true);
    const Array seed = random_array({3, 4, 6}, 508);
    layer_norm(fast, Tensor(w), Tensor(b)).backward(seed);
    reference::layer_norm(composed, Tensor(w), Tensor(b)).backward(seed);
    CHECK_CLOSE(fast.grad(), composed.grad(), 1e-4, 1e-5);
    CHECK_CLOSE(layer_norm(Tensor(x), Tensor(w), Tensor(b)).value(),
                reference::layer_norm(Tensor(x), Tensor(w), Tensor(b)).value(), 1e-5, 1e-5);
    CHECK_THROWS_WITH_AS(layer_norm(Tensor(x), Tensor(zeros({5})), Tensor()),
                         "layer_norm: weight [5] does not fit input [3, 4, 6] (expected [6])", Error);
}

TEST_CASE("gelu: the exact and the tanh form match PyTorch and finite differences") {
    for (auto [group, form] : {std::pair<std::string, Gelu>{"gelu", Gelu::exact}, {"gelu_tanh", Gelu::tanh}}) {
        CAPTURE(group);
        Tensor x(fixture(group, "x"), true);
        Tensor y = gelu(x, form);
        CHECK_TORCH(y.value(), fixture(group, "y"));
        weighted(y, group, "g_y").backward();
        CHECK_TORCH(x.grad(), fixture(group, "grad_x"));
        check_gradients([form](const Inputs& v) { return gelu(v[0], form); }, {random_array({4, 5}, 509, -3.0f, 3.0f)});
    }
    CHECK(gelu(Tensor(array({0.0f}))).item() == 0.0f);
}

TEST_CASE("softmax and log_softmax with an additive mask match PyTorch, -inf entries and a one-entry row included") {
    for (const std::string group : {"softmax_masked", "log_softmax_masked"}) {
        CAPTURE(group);
        Tensor x(fixture(group, "x"), true), mask(fixture(group, "mask"), true);
        const bool log = group == "log_softmax_masked";
        Tensor y = log ? log_softmax(x, -1, mask) : softmax(x, -1, mask);
        // Compare finite entries; log_softmax is -inf exactly where the mask is.
        Array finite = y.value();
        for (float& v : finite) v = std::isinf(v) ? 0.0f : v;
        Array expected = fixture(group, "y");
        for (float& v : expected) v = std::isinf(v) ? 0.0f : v;
        CHECK_TORCH(finite, expected);
        Tensor loss = log ? sum(where(Tensor(xt::cast<float>(xt::isinf(y.value()))), Tensor(zeros(y.shape())), y) *
                                Tensor(fixture(group, "g_y")))
                          : weighted(y, group, "g_y");
        loss.backward();
        CHECK_TORCH(x.grad(), fixture(group, "grad_x"));
        CHECK_TORCH(mask.grad(), fixture(group, "grad_mask"));
    }
    // The dedicated rules against their compositions, on a mask without -inf.
    const Array a = random_array({2, 3, 4}, 510), m = random_array({3, 4}, 511);
    check_gradients([](const Inputs& v) { return softmax(v[0], -1, v[1]); }, {a, m});
    check_gradients([](const Inputs& v) { return log_softmax(v[0], 1, v[1]); }, {a, m});
    CHECK_CLOSE(softmax(Tensor(a), -1, Tensor(m)).value(), reference::softmax(Tensor(a), -1, Tensor(m)).value(), 1e-5, 1e-6);
    CHECK_CLOSE(log_softmax(Tensor(a), -1, Tensor(m)).value(), reference::log_softmax(Tensor(a), -1, Tensor(m)).value(),
                1e-5, 1e-5);
    // A lane with every entry masked: no NaN.
    const Array all_masked = full({1, 3}, -inf);
    CHECK_ARRAY_EQ(softmax(Tensor(zeros({2, 3})), -1, Tensor(all_masked)).value(), zeros({2, 3}));
    CHECK(std::isinf(log_softmax(Tensor(zeros({1, 3})), -1, Tensor(all_masked)).value()(0, 1)));
    CHECK_THROWS_WITH_AS(softmax(Tensor(zeros({2, 3})), -1, Tensor(zeros({3, 2, 3}))),
                         "softmax: mask [3, 2, 3] must broadcast to the input's shape [2, 3]", Error);
    CHECK_THROWS_WITH_AS(softmax(Tensor(zeros({2, 3})), -1, Tensor(zeros({2, 2}))),
                         "softmax (mask): shapes [2, 2] and [2, 3] cannot be broadcast together (axis 1: 2 vs 3)", Error);
}

TEST_CASE("scaled_dot_product_attention: causal and key-padding masks match PyTorch; masks as constants") {
    for (const std::string group : {"attention_causal", "attention_padding"}) {
        CAPTURE(group);
        Tensor q(fixture(group, "q"), true), k(fixture(group, "k"), true), v(fixture(group, "v"), true);
        Array mask = causal_mask(4);
        if (group == "attention_padding") {
            mask = padding_mask({5, 2}, 5);  // the fixture's lengths
            mask.reshape({2, 1, 1, 5});
        }
        CHECK(mask == fixture(group, "mask"));  // 0 and -inf, exactly
        Attention att = scaled_dot_product_attention(q, k, v, Tensor(mask));
        CHECK_TORCH(att.output.value(), fixture(group, "y"));
        CHECK_TORCH(att.weights.value(), fixture(group, "weights"));
        (weighted(att.output, group, "g_y") + weighted(att.weights, group, "g_weights")).backward();
        CHECK_TORCH(q.grad(), fixture(group, "grad_q"));
        CHECK_TORCH(k.grad(), fixture(group, "grad_k"));
        CHECK_TORCH(v.grad(), fixture(group, "grad_v"));
    }
    check_gradients(
        [](const Inputs& x) { return scaled_dot_product_attention(x[0], x[1], x[2], Tensor(causal_mask(3))).output; },
        {random_array({2, 3, 4}, 512), random_array({2, 3, 4}, 513), random_array({2, 3, 2}, 514)});
    // Dropout on the weights: p = 0.5 drops about half and scales the rest by 2.
    manual_seed(5);
    const Attention dropped = scaled_dot_product_attention(Tensor(random_array({1, 40, 8}, 515)),
                                                           Tensor(random_array({1, 40, 8}, 516)),
                                                           Tensor(random_array({1, 40, 8}, 517)), Tensor(), 0.5f);
    std::size_t zero = 0;
    for (float w : dropped.weights.value()) zero += w == 0.0f;
    CHECK(zero > 600);
    CHECK(zero < 1000);
    CHECK_THROWS_WITH_AS(padding_mask({3, 6}, 5), "padding_mask: length 6 of sequence 1 exceeds 5 positions", Error);
}
