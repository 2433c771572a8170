// Reductions and the softmax family: forward values and gradient checks along
// every axis, with and without keepdims.
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;
using namespace tapegrad::testing;  // check_gradients, random_array, Inputs

namespace {
const Array m23 = array({1, 2, 3, 4, 5, 6}, {2, 3});
}  // namespace

TEST_CASE("sum: over all elements, along an axis, along several, with keepdims") {
    Tensor a(m23);
    CHECK(sum(a).item() == 21.0f);
    CHECK(sum(a).ndim() == 0);
    CHECK_ARRAY_EQ(sum(a, 0).value(), array({5, 7, 9}));
    CHECK_ARRAY_EQ(sum(a, -1).value(), array({6, 15}));
    CHECK_ARRAY_EQ(sum(a, 1, true).value(), array({6, 15}, {2, 1}));
    CHECK_ARRAY_EQ(sum(a, std::vector<int>{0, 1}).value(), Array(21.0f));
    for (int axis : {0, 1, 2})
        for (bool keep : {false, true})
            check_gradients([=](const Inputs& x) { return sum(x[0], axis, keep); }, {random_array({2, 3, 4}, 30)});
    check_gradients([](const Inputs& x) { return sum(x[0], std::vector<int>{0, 2}, true); }, {random_array({2, 3, 4}, 31)});
    check_gradients([](const Inputs& x) { return sum(x[0]); }, {random_array({2, 3}, 32)});
    CHECK_THROWS_WITH_AS(sum(a, 2), doctest::Contains("sum: axis 2 is out of range"), Error);
}

TEST_CASE("mean: over all elements and along axes") {
    Tensor a(m23);
    CHECK(mean(a).item() == 3.5f);
    CHECK_ARRAY_EQ(mean(a, 0).value(), array({2.5f, 3.5f, 4.5f}));
    CHECK_ARRAY_EQ(mean(a, 1, true).value(), array({2, 5}, {2, 1}));
    check_gradients([](const Inputs& x) { return mean(x[0]); }, {random_array({3, 4}, 33)});
    check_gradients([](const Inputs& x) { return mean(x[0], 1, true); }, {random_array({3, 4}, 34)});
    check_gradients([](const Inputs& x) { return mean(x[0], std::vector<int>{0, 1}); }, {random_array({2, 3, 2}, 35)});
}

TEST_CASE("max: over all elements and along an axis; the gradient goes to the argmax") {
    Tensor a(array({1, 7, 3, 9, 5, 2}, {2, 3}));
    CHECK(max(a).item() == 9.0f);
    CHECK_ARRAY_EQ(max(a, 0).value(), array({9, 7, 3}));
    CHECK_ARRAY_EQ(max(a, 1, true).value(), array({7, 9}, {2, 1}));
    // Distinct values keep the finite differences away from ties.
    const Array x = array({0.1f, 0.9f, -0.4f, 0.5f, 0.7f, -0.8f, 0.3f, 0.2f, 0.6f, -0.1f, 0.0f, 0.4f}, {2, 3, 2});
    for (int axis : {0, 1, 2})
        for (bool keep : {false, true})
            check_gradients([=](const Inputs& in) { return max(in[0], axis, keep); }, {x});
    check_gradients([](const Inputs& in) { return max(in[0]); }, {x});
}

TEST_CASE("logsumexp: values, stability with large inputs, and gradients") {
    Tensor a(array({0, 0, 1000, 1000}, {2, 2}));
    CHECK_CLOSE(logsumexp(a, 1).value(), array({0.6931472f, 1000.6931f}), 1e-6, 1e-3);
    CHECK_CLOSE(logsumexp(Tensor(m23), 0).value(),
                array({4.0485873f, 5.0485873f, 6.0485873f}), 1e-6, 1e-5);
    for (int axis : {0, 1, 2})
        check_gradients([=](const Inputs& x) { return logsumexp(x[0], axis, axis == 1); }, {random_array({2, 3, 4}, 36, -2, 2)});
}

TEST_CASE("softmax: rows sum to one, and gradients along every axis") {
    Tensor a(array({1, 2, 3, 1000, 1000, 1000}, {2, 3}));
    Array y = softmax(a, 1).value();
    CHECK_CLOSE(y, array({0.09003057f, 0.24472847f, 0.66524096f, 1.0f / 3, 1.0f / 3, 1.0f / 3}, {2, 3}), 1e-5, 1e-6);
    for (int axis : {0, 1, 2})
        check_gradients([=](const Inputs& x) { return softmax(x[0], axis); }, {random_array({2, 3, 4}, 37, -2, 2)});
}

TEST_CASE("log_softmax: values, stability, gradients along every axis") {
    Tensor a(array({1, 2, 3, -1000, 0, 1000}, {2, 3}));
    Array y = log_softmax(a, -1).value();
    CHECK_CLOSE(y, array({-2.4076059f, -1.4076059f, -0.4076059f, -2000, -1000, 0}, {2, 3}), 1e-5, 1e-5);
    for (int axis : {0, 1, 2})
        check_gradients([=](const Inputs& x) { return log_softmax(x[0], axis); }, {random_array({2, 3, 4}, 38, -2, 2)});
}

TEST_CASE("log_softmax: equals log(softmax) composed") {
    const Array x = random_array({4, 7}, 39, -3, 3);
    CHECK_CLOSE(log_softmax(Tensor(x), 1).value(), log(softmax(Tensor(x), 1)).value(), 1e-5, 1e-5);
}
