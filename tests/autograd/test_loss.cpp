// Losses: values against hand computations and their composed definitions, and
// gradient checks for every reduction.
#include <algorithm>
#include <cmath>

#include "autograd/kernels/simd.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;
using namespace tapegrad::testing;  // check_gradients, random_array, Inputs

TEST_CASE("nll_loss: picks -log p of the target, skips the ignore index") {
    Tensor lp(array({-1, -2, -3, -4, -5, -6}, {2, 3}));
    Indices t = {2, 0};
    CHECK(nll_loss(lp, t, Reduction::sum).item() == 7.0f);
    CHECK(nll_loss(lp, t).item() == 3.5f);
    CHECK_ARRAY_EQ(nll_loss(lp, t, Reduction::none).value(), array({3, 4}));
    Indices ti = {2, -100};
    CHECK(nll_loss(lp, ti).item() == 3.0f);
    for (auto r : {Reduction::none, Reduction::mean, Reduction::sum})
        check_gradients([&](const Inputs& x) { return nll_loss(x[0], ti, r); }, {random_array({2, 3}, 90)});
    Indices bad = {3, 0};
    CHECK_THROWS_WITH_AS(nll_loss(lp, bad), doctest::Contains("target 3 at row 0 is not a class index in [0, 3)"), Error);
}

TEST_CASE("cross_entropy: equals nll_loss(log_softmax) and ignores padding") {
    const Array x = random_array({5, 7}, 91, -3, 3);
    Indices t = {0, 6, -100, 3, 3};
    for (auto r : {Reduction::none, Reduction::mean, Reduction::sum}) {
        CHECK_CLOSE(cross_entropy(Tensor(x), t, r).value(), nll_loss(log_softmax(Tensor(x), 1), t, r).value(), 1e-5, 1e-5);
        check_gradients([&](const Inputs& v) { return cross_entropy(v[0], t, r); }, {x});
    }
    Indices custom = {0, 6, 1, 3, 1};
    CHECK_CLOSE(cross_entropy(Tensor(x), custom, Reduction::mean, 1).value(),
                nll_loss(log_softmax(Tensor(x), 1), custom, Reduction::mean, 1).value(), 1e-5, 1e-5);
    Indices all_ignored = {-100, -100, -100, -100, -100};
    CHECK(cross_entropy(Tensor(x), all_ignored).item() == 0.0f);
}

TEST_CASE("cross_entropy: a hand-computed value, stable for huge logits") {
    Tensor x(array({0, 0, 1000, 0}, {2, 2}));
    Indices t = {0, 1};
    // row 0: log 2; row 1: logsumexp(1000, 0) - 0 = 1000
    CHECK_CLOSE(cross_entropy(x, t, Reduction::none).value(), array({0.6931472f, 1000}), 1e-6, 1e-4);
}

TEST_CASE("binary_cross_entropy_with_logits: values, stability and gradients") {
    Tensor x(array({0, 2, -100, 100})), t(array({1, 0, 0, 1}));
    // -log sigmoid(0) = log 2; -log(1 - sigmoid(2)) = softplus(2); the saturated ends cost ~0.
    CHECK_CLOSE(binary_cross_entropy_with_logits(x, t, Reduction::none).value(), array({0.6931472f, 2.126928f, 0, 0}),
                1e-6, 1e-6);
    const Array xs = random_array({3, 4}, 92, -3, 3), ts = random_array({3, 4}, 93, 0, 1);
    for (auto r : {Reduction::none, Reduction::mean, Reduction::sum})
        check_gradients([=](const Inputs& v) { return binary_cross_entropy_with_logits(v[0], v[1], r); }, {xs, ts});
    // Long enough for the vectorised loop (and its tail), where the reduced losses get
    // their gradient out of the forward pass.
    const Array xl = random_array({5, 7}, 94, -6, 6), tl = random_array({5, 7}, 95, 0, 1);
    for (auto r : {Reduction::mean, Reduction::sum})
        check_gradients([=](const Inputs& v) { return binary_cross_entropy_with_logits(v[0], v[1], r); }, {xl, tl});
    {  // requires_grad switched on between forward and backward: the rule computes the gradient itself
        Tensor a(xl), b(tl);
        const Tensor loss = binary_cross_entropy_with_logits(a, b.set_requires_grad(true), Reduction::sum);
        a.set_requires_grad(true);
        loss.backward();
        CHECK_CLOSE(a.grad(), Array(1.0f / (1.0f + xt::exp(-xl)) - tl), 1e-6, 1e-6);
        CHECK_CLOSE(b.grad(), Array(-xl), 1e-6, 1e-6);
    }
    {  // the same with 0-d logits, whose unfilled buffer has the logits' shape too
        Tensor a(Array(0.3f)), b(Array(1.0f), true);
        const Tensor loss = binary_cross_entropy_with_logits(a, b, Reduction::mean);
        a.set_requires_grad(true);
        loss.backward();
        CHECK(a.grad()() == doctest::Approx(1.0f / (1.0f + std::exp(-0.3f)) - 1.0f));
    }
    // Against the textbook formula with sigmoid and log.
    Tensor p = sigmoid(Tensor(xs));
    Tensor T(ts);
    Tensor textbook = -(T * log(p) + (1.0f - T) * log(1.0f - p));
    CHECK_CLOSE(binary_cross_entropy_with_logits(Tensor(xs), T, Reduction::none).value(), textbook.value(), 1e-4, 1e-5);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(x, Tensor(zeros({3}))), doctest::Contains("same shape"), Error);
}

TEST_CASE("binary_cross_entropy_with_logits: its log1p on [0, 1] has a relative error below 4 x 2^-23") {
    // The kernel's own series for log1p(exp(-|x|)), against the library's log1p in double.
    double worst = 0.0;
    for (double e = 1e-30; e <= 1.0; e *= 1.001) {
        const double exact = std::log1p(static_cast<double>(static_cast<float>(e)));
        const double got = kernels::log1p_unit(static_cast<float>(e));
        worst = std::max(worst, std::abs(got - exact) / exact);
    }
    const double got_one = kernels::log1p_unit(1.0f), got_zero = kernels::log1p_unit(0.0f);
    CHECK(worst < 4 * 0x1.0p-23);
    CHECK(std::abs(got_one - std::log1p(1.0)) < 2e-7);
    CHECK(got_zero == 0.0);
}

TEST_CASE("mse_loss: mean, sum and none") {
    Tensor a(array({1, 2, 3})), b(array({1, 0, 0}));
    CHECK(mse_loss(a, b, Reduction::sum).item() == 13.0f);
    CHECK(mse_loss(a, b).item() == doctest::Approx(13.0f / 3));
    CHECK_ARRAY_EQ(mse_loss(a, b, Reduction::none).value(), array({0, 4, 9}));
    for (auto r : {Reduction::none, Reduction::mean, Reduction::sum})
        check_gradients([=](const Inputs& v) { return mse_loss(v[0], v[1], r); }, {random_array({2, 3}, 94), random_array({2, 3}, 95)});
}

TEST_CASE("linear_cross_entropy: equals cross_entropy(linear(...)), values and gradients") {
    const Array x = random_array({5, 4}, 96), w = random_array({7, 4}, 97), b = random_array({7}, 98);
    Indices t = {0, 6, -100, 3, 3};
    for (auto r : {Reduction::none, Reduction::mean, Reduction::sum}) {
        Tensor xf(x, true), wf(w, true), bf(b, true), xc(x, true), wc(w, true), bc(b, true);
        // One graph per backward(): each sweep consumes the tape.
        Tensor fused = linear_cross_entropy(xf, wf, bf, t, r);
        const Array seed = random_array(fused.shape(), 99, 0.5f, 1.5f);
        fused.backward(seed);
        Tensor composed = cross_entropy(linear(xc, wc, bc), t, r);
        composed.backward(seed);
        CHECK_CLOSE(fused.value(), composed.value(), 1e-5, 1e-6);
        CHECK_CLOSE(xf.grad(), xc.grad(), 1e-5, 1e-6);
        CHECK_CLOSE(wf.grad(), wc.grad(), 1e-5, 1e-6);
        CHECK_CLOSE(bf.grad(), bc.grad(), 1e-5, 1e-6);
        check_gradients([&](const Inputs& v) { return linear_cross_entropy(v[0], v[1], v[2], t, r); }, {x, w, b});
    }
    check_gradients([&](const Inputs& v) { return linear_cross_entropy(v[0], v[1], Tensor(), t); }, {x, w});
    CHECK_THROWS_WITH_AS(linear_cross_entropy(Tensor(x), Tensor(zeros({7, 3})), Tensor(), t),
                         doctest::Contains("input [5, 4] does not fit weight [7, 3]"), Error);
}

TEST_CASE("linear_cross_entropy: a reduced loss's gradients, computed block by block in the forward pass, match") {
    // 300 rows of 20000 classes (6 M logits): the eager path takes them in three blocks of 100 rows (8 MiB each).
    const Array x = random_array({300, 8}, 103), w = random_array({20000, 8}, 104), b = random_array({20000}, 105);
    Indices t = Indices::from_shape({300});
    for (std::size_t i = 0; i < 300; ++i) t(i) = static_cast<std::int64_t>((i * 7919) % 20000);
    t(5) = -100;
    t(299) = -100;
    for (auto r : {Reduction::mean, Reduction::sum}) {
        for (bool with_bias : {true, false}) {
            Tensor xf(x, true), wf(w, true), bf(b, true), xc(x, true), wc(w, true), bc(b, true);
            Tensor fused = linear_cross_entropy(xf, wf, with_bias ? bf : Tensor(), t, r);
            fused.backward(Array(0.75f));  // an upstream gradient other than 1
            Tensor composed = cross_entropy(linear(xc, wc, with_bias ? bc : Tensor()), t, r);
            composed.backward(Array(0.75f));
            CHECK_CLOSE(fused.value(), composed.value(), 1e-5, 1e-5);
            CHECK_CLOSE(xf.grad(), xc.grad(), 1e-4, 1e-6);
            CHECK_CLOSE(wf.grad(), wc.grad(), 1e-4, 1e-6);
            if (with_bias) CHECK_CLOSE(bf.grad(), bc.grad(), 1e-4, 1e-6);
        }
    }
    // Only some inputs need a gradient: the others get none.
    Tensor xf(x), wf(w, true);
    linear_cross_entropy(xf, wf, Tensor(b), t).backward();
    CHECK_FALSE(xf.has_grad());
    CHECK(wf.grad().shape()[0] == 20000);
}

TEST_CASE("linear_cross_entropy: without gradients it works in blocks and gives the same values") {
    const Array x = random_array({300, 8}, 100), w = random_array({20000, 8}, 101), b = random_array({20000}, 102);
    Indices t = Indices::from_shape({300});
    for (std::size_t i = 0; i < 300; ++i) t(i) = static_cast<std::int64_t>((i * 7919) % 20000);
    t(5) = -100;
    const Array recorded = linear_cross_entropy(Tensor(x, true), Tensor(w), Tensor(b), t, Reduction::none).value();
    Tape::current().clear();
    NoGradGuard no_grad;
    const Array blocked = linear_cross_entropy(Tensor(x), Tensor(w), Tensor(b), t, Reduction::none).value();
    CHECK_CLOSE(blocked, recorded, 1e-6, 1e-6);
    CHECK(linear_cross_entropy(Tensor(x), Tensor(w), Tensor(b), t).item() == doctest::Approx(xt::sum(recorded)() / 299).epsilon(1e-5));
    Indices bad = t;
    bad(0) = 20000;
    CHECK_THROWS_WITH_AS(linear_cross_entropy(Tensor(x), Tensor(w), Tensor(b), bad), doctest::Contains("not a class index in [0, 20000)"), Error);
}
