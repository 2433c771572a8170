// Element-wise ops: a forward check on hand-computed values and a finite-difference
// gradient check for each, plus broadcasting and scalar operands.
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;
using namespace tapegrad::testing;  // check_gradients, random_array, Inputs

TEST_CASE("add: values, and a broadcast operand's gradient is summed back") {
    Tensor a(array({1, 2, 3, 4, 5, 6}, {2, 3})), b(array({10, 20, 30}));
    CHECK_ARRAY_EQ((a + b).value(), array({11, 22, 33, 14, 25, 36}, {2, 3}));
    check_gradients([](const Inputs& x) { return add(x[0], x[1]); }, {random_array({2, 3}, 1), random_array({3}, 2)});
    check_gradients([](const Inputs& x) { return add(x[0], x[1]); },
                    {random_array({2, 1, 3}, 3), random_array({4, 1}, 4)});
}

TEST_CASE("add: incompatible shapes name the op and both shapes") {
    Tensor a(zeros({2, 3})), b(zeros({4}));
    CHECK_THROWS_WITH_AS(a + b, "add: shapes [2, 3] and [4] cannot be broadcast together (axis 1: 3 vs 4)", Error);
    CHECK_THROWS_WITH_AS(a * Tensor(zeros({3, 3})), doctest::Contains("mul: shapes [2, 3] and [3, 3]"), Error);
}

TEST_CASE("sub: values and gradients") {
    CHECK_ARRAY_EQ((Tensor(array({5, 7})) - Tensor(array({1, 2}))).value(), array({4, 5}));
    check_gradients([](const Inputs& x) { return sub(x[0], x[1]); }, {random_array({3, 2}, 5), random_array({3, 1}, 6)});
}

TEST_CASE("mul: values and gradients, with broadcasting") {
    CHECK_ARRAY_EQ((Tensor(array({2, 3})) * Tensor(array({4, 5}))).value(), array({8, 15}));
    check_gradients([](const Inputs& x) { return mul(x[0], x[1]); }, {random_array({2, 3}, 7), random_array({2, 3}, 8)});
    check_gradients([](const Inputs& x) { return mul(x[0], x[1]); }, {random_array({4, 3}, 9), random_array({1, 3}, 10)});
}

TEST_CASE("div: values and gradients") {
    CHECK_ARRAY_EQ((Tensor(array({1, 3})) / Tensor(array({2, 4}))).value(), array({0.5f, 0.75f}));
    check_gradients([](const Inputs& x) { return div(x[0], x[1]); },
                    {random_array({2, 3}, 11), random_array({3}, 12, 0.5f, 2.0f)});
}

TEST_CASE("neg: values and gradients") {
    CHECK_ARRAY_EQ((-Tensor(array({1, -2}))).value(), array({-1, 2}));
    check_gradients([](const Inputs& x) { return neg(x[0]); }, {random_array({5}, 13)});
}

TEST_CASE("pow: values and gradients with a scalar exponent") {
    CHECK_CLOSE(pow(Tensor(array({2, 3})), 3.0f).value(), array({8, 27}), 1e-6, 1e-6);
    CHECK_CLOSE(pow(Tensor(array({4})), 0.5f).value(), array({2}), 1e-6, 1e-6);
    check_gradients([](const Inputs& x) { return pow(x[0], 3.0f); }, {random_array({2, 2}, 14)});
    check_gradients([](const Inputs& x) { return pow(x[0], -1.5f); }, {random_array({4}, 15, 0.5f, 2.0f)});
}

TEST_CASE("exp: values and gradients") {
    CHECK_CLOSE(exp(Tensor(array({0, 1}))).value(), array({1, 2.7182818f}), 1e-6, 1e-6);
    check_gradients([](const Inputs& x) { return exp(x[0]); }, {random_array({3, 2}, 16)});
}

TEST_CASE("log: values and gradients") {
    CHECK_CLOSE(log(Tensor(array({1, 2.7182818f}))).value(), array({0, 1}), 1e-6, 1e-6);
    check_gradients([](const Inputs& x) { return log(x[0]); }, {random_array({5}, 17, 0.5f, 3.0f)});
}

TEST_CASE("sqrt: values and gradients") {
    CHECK_CLOSE(sqrt(Tensor(array({4, 9}))).value(), array({2, 3}), 1e-6, 1e-6);
    check_gradients([](const Inputs& x) { return sqrt(x[0]); }, {random_array({5}, 18, 0.5f, 3.0f)});
}

TEST_CASE("abs: values and gradients away from zero, zero gradient at zero") {
    CHECK_ARRAY_EQ(abs(Tensor(array({-2, 0, 3}))).value(), array({2, 0, 3}));
    check_gradients([](const Inputs& x) { return abs(x[0]); }, {array({-1.5f, -0.3f, 0.4f, 2.0f})});
    Tensor z(array({0.0f}), true);
    sum(abs(z)).backward();
    CHECK(z.grad()(0) == 0.0f);
}

TEST_CASE("tanh: values and gradients") {
    CHECK_CLOSE(tanh(Tensor(array({0, 1}))).value(), array({0, 0.7615942f}), 1e-6, 1e-6);
    check_gradients([](const Inputs& x) { return tanh(x[0]); }, {random_array({3, 3}, 19, -2, 2)});
}

TEST_CASE("sigmoid: values, gradients, and no NaN for large inputs") {
    CHECK_CLOSE(sigmoid(Tensor(array({0, 2}))).value(), array({0.5f, 0.8807971f}), 1e-6, 1e-6);
    CHECK_ARRAY_EQ(sigmoid(Tensor(array({-200, 200}))).value(), array({0, 1}));
    check_gradients([](const Inputs& x) { return sigmoid(x[0]); }, {random_array({3, 3}, 20, -3, 3)});
}

TEST_CASE("relu: values and gradients away from the kink") {
    CHECK_ARRAY_EQ(relu(Tensor(array({-1, 0, 2}))).value(), array({0, 0, 2}));
    check_gradients([](const Inputs& x) { return relu(x[0]); }, {array({-1.0f, -0.2f, 0.3f, 1.5f}, {2, 2})});
}

TEST_CASE("softplus: values, gradients, and no overflow for large inputs") {
    CHECK_CLOSE(softplus(Tensor(array({0, 1}))).value(), array({0.6931472f, 1.3132616f}), 1e-6, 1e-6);
    CHECK_CLOSE(softplus(Tensor(array({100, -100}))).value(), array({100, 0}), 1e-6, 1e-6);
    check_gradients([](const Inputs& x) { return softplus(x[0]); }, {random_array({6}, 21, -4, 4)});
}

TEST_CASE("log_sigmoid: values and gradients, stable at the tails") {
    CHECK_CLOSE(log_sigmoid(Tensor(array({0, -100}))).value(), array({-0.6931472f, -100}), 1e-6, 1e-6);
    check_gradients([](const Inputs& x) { return log_sigmoid(x[0]); }, {random_array({6}, 22, -4, 4)});
}

TEST_CASE("clamp: values and gradients inside and outside the range") {
    CHECK_ARRAY_EQ(clamp(Tensor(array({-2, 0.5f, 3})), -1, 1).value(), array({-1, 0.5f, 1}));
    check_gradients([](const Inputs& x) { return clamp(x[0], -1.0f, 1.0f); }, {array({-1.7f, -0.5f, 0.2f, 1.4f})});
    CHECK_THROWS_WITH_AS(clamp(Tensor(array({1})), 2, 1), doctest::Contains("clamp: lo"), Error);
}

TEST_CASE("erf: values of the C library's erf, odd, gradients by finite differences") {
    CHECK_CLOSE(erf(Tensor(array({0, 0.5f, -1, 3}))).value(),
                array({0, std::erf(0.5f), std::erf(-1.0f), std::erf(3.0f)}), 1e-6, 1e-7);
    check_gradients([](const Inputs& x) { return erf(x[0]); }, {random_array({7}, 25, -2.5f, 2.5f)});
}

TEST_CASE("operators: floats on either side act as constants") {
    Tensor a(array({1, 2}));
    CHECK_ARRAY_EQ((a * 2.0f).value(), array({2, 4}));
    CHECK_ARRAY_EQ((1.0f - a).value(), array({0, -1}));
    CHECK_ARRAY_EQ((a + 1.0f).value(), array({2, 3}));
    CHECK_ARRAY_EQ((2.0f + a).value(), array({3, 4}));
    CHECK_ARRAY_EQ((a - 1.0f).value(), array({0, 1}));
    CHECK_ARRAY_EQ((a / 2.0f).value(), array({0.5f, 1}));
    CHECK_ARRAY_EQ((2.0f / a).value(), array({2, 1}));
    CHECK_ARRAY_EQ((3.0f * a).value(), array({3, 6}));
    check_gradients([](const Inputs& x) { return 1.0f - 2.0f * x[0] / 3.0f + x[0] * 0.5f; }, {random_array({3}, 23)});
    check_gradients([](const Inputs& x) { return 2.0f / x[0] - 1.0f; }, {random_array({3}, 24, 0.5f, 2.0f)});
}

TEST_CASE("add, sub, mul, div: a single-number operand agrees with the same op on a full-shape copy") {
    // A size-1 operand of no higher rank runs as an array-and-float expression; the
    // results and both gradients (the number's summed back) must be those of the
    // general broadcast path, here forced with an explicit full-shape constant.
    using Op = Tensor (*)(const Tensor&, const Tensor&);
    const std::pair<const char*, Op> ops[] = {{"add", add}, {"sub", sub}, {"mul", mul}, {"div", div}};
    const Array x = random_array({3, 4}, 31, 0.5f, 2.0f);
    for (const Shape& one : {Shape{}, Shape{1}, Shape{1, 1}}) {
        const Array k = full(one, 1.7f);
        for (const auto& [name, op] : ops) {
            for (const bool number_first : {false, true}) {
                CAPTURE(name);
                CAPTURE(number_first);
                CAPTURE(one.size());
                Tensor t(x, true), n(k, true), t2(x, true);
                const Tensor y = number_first ? op(n, t) : op(t, n);
                sum(y * Tensor(x)).backward();  // (backward consumes the tape: one graph at a time)
                // the reference: the number spelled out in full, its gradient summed by hand
                Tensor wide(full({3, 4}, 1.7f), true);
                const Tensor y2 = number_first ? op(wide, t2) : op(t2, wide);
                sum(y2 * Tensor(x)).backward();
                CHECK(y.value().shape() == y2.value().shape());
                CHECK_CLOSE(y.value(), y2.value(), 1e-6, 1e-6);
                CHECK_CLOSE(t.grad(), t2.grad(), 1e-5, 1e-5);
                CHECK(n.grad().shape() == k.shape());
                CHECK(n.grad().data()[0] == doctest::Approx(xt::sum(wide.grad())()).epsilon(1e-5));
            }
            check_gradients([op](const Inputs& v) { return op(v[0], v[1]); }, {x, k});
            check_gradients([op](const Inputs& v) { return op(v[1], v[0]); }, {x, k});
        }
    }
    // Result shapes follow numpy's rules whichever path runs: a size-1 operand of
    // higher rank broadcasts the other up, two numbers give the higher rank, and an
    // empty operand gives an empty result.
    const auto shape_of_sum = [](const Shape& p, const Shape& q) { return add(Tensor(zeros(p)), Tensor(zeros(q))).value().shape(); };
    const auto shape_of_div = [](const Shape& p, const Shape& q) { return div(Tensor(ones(p)), Tensor(ones(q))).value().shape(); };
    CHECK(mul(Tensor(full({1, 1}, 2.0f)), Tensor(array({1, 2, 3, 4}))).value().shape() == Shape{1, 4});
    CHECK(shape_of_sum({}, {}) == Shape{});
    CHECK(shape_of_sum({1}, {}) == Shape{1});
    CHECK(shape_of_sum({}, {1}) == Shape{1});
    CHECK(shape_of_sum({1, 1}, {1}) == Shape{1, 1});
    CHECK(shape_of_div({1}, {1, 1}) == Shape{1, 1});
    CHECK(shape_of_sum({1}, {0}) == Shape{0});
    CHECK(shape_of_div({3, 0}, {}) == Shape{3, 0});
    CHECK(shape_of_sum({1, 1}, {0}) == Shape{1, 0});
    {  // two numbers: both gradients in their own shapes
        Tensor p(full({1, 1}, 3.0f), true), q(full({1}, 2.0f), true);
        (p * q).backward();
        CHECK(p.grad().shape() == Shape{1, 1});
        CHECK(q.grad().shape() == Shape{1});
        CHECK(p.grad().data()[0] == 2.0f);
        CHECK(q.grad().data()[0] == 3.0f);
    }
}

TEST_CASE("add, sub, mul, div: an operand broadcast along trailing axes ([B, 1] with [B, H]) agrees with a full-shape copy") {
    // Such pairs (masks, per-row scales) run through the ops' own loop over runs;
    // results and both gradients must be those of the same op on the operand
    // spelled out at full shape, whose gradient is then summed over each run by hand.
    using Op = Tensor (*)(const Tensor&, const Tensor&);
    const std::pair<const char*, Op> ops[] = {{"add", add}, {"sub", sub}, {"mul", mul}, {"div", div}};
    const std::pair<Shape, Shape> pairs[] = {{{3, 1}, {3, 4}}, {{2, 3, 1}, {2, 3, 4}}, {{2, 1, 1}, {2, 3, 4}}, {{5, 1}, {5, 17}}};
    for (const auto& [small, big] : pairs) {
        const Array x = random_array(big, 41, 0.5f, 2.0f), c = random_array(small, 42, 0.5f, 2.0f);
        const std::size_t run = x.size() / c.size();
        const Array c_wide = xt::broadcast(c, big);
        for (const auto& [name, op] : ops) {
            for (const bool small_first : {false, true}) {
                CAPTURE(name);
                CAPTURE(small_first);
                CAPTURE(shape_str(small));
                Tensor t(x, true), n(c, true), t2(x, true), wide(c_wide, true);
                const Tensor y = small_first ? op(n, t) : op(t, n);
                sum(y * Tensor(x)).backward();
                const Tensor y2 = small_first ? op(wide, t2) : op(t2, wide);
                sum(y2 * Tensor(x)).backward();
                CHECK(y.value().shape() == big);
                CHECK_CLOSE(y.value(), y2.value(), 1e-6, 1e-6);
                CHECK_CLOSE(t.grad(), t2.grad(), 1e-5, 1e-5);
                REQUIRE(n.grad().shape() == small);
                for (std::size_t o = 0; o < c.size(); ++o) {
                    double want = 0.0;
                    for (std::size_t i = 0; i < run; ++i) want += wide.grad().data()[o * run + i];
                    CHECK(n.grad().data()[o] == doctest::Approx(want).epsilon(1e-5));
                }
            }
            check_gradients([op](const Inputs& v) { return op(v[0], v[1]); }, {x, c});
            check_gradients([op](const Inputs& v) { return op(v[1], v[0]); }, {x, c});
        }
    }
}
