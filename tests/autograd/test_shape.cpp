// Shape ops: they only move elements, so forward checks are exact and the
// gradient checks confirm each element goes back where it came from.
#include <algorithm>

#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;
using namespace tapegrad::testing;  // check_gradients, random_array, Inputs

namespace {
const Array m23 = array({1, 2, 3, 4, 5, 6}, {2, 3});
}  // namespace

TEST_CASE("transpose: 2-D and with a permutation") {
    CHECK_ARRAY_EQ(transpose(Tensor(m23)).value(), array({1, 4, 2, 5, 3, 6}, {3, 2}));
    Tensor b(random_array({2, 3, 4}, 40));
    CHECK(transpose(b, {2, 0, 1}).shape() == Shape{4, 2, 3});
    CHECK(transpose(b, {2, 0, 1}).value()(3, 1, 2) == b.value()(1, 2, 3));
    check_gradients([](const Inputs& x) { return transpose(x[0]); }, {random_array({2, 3}, 41)});
    check_gradients([](const Inputs& x) { return transpose(x[0], {1, 2, 0}); }, {random_array({2, 3, 4}, 42)});
    CHECK_THROWS_WITH_AS(transpose(b, {0, 0, 1}), doctest::Contains("not a permutation"), Error);
}

TEST_CASE("transpose: every permutation of a 4-D array equals xtensor's, rows copied whole or one by one") {
    const Array x = random_array({2, 3, 4, 5}, 48);
    std::vector<std::size_t> perm = {0, 1, 2, 3};
    std::size_t checked = 0;
    do {
        CAPTURE(shape_str(perm));
        CHECK(transpose(Tensor(x), perm).value() == Array(xt::transpose(x, perm)));
        ++checked;
    } while (std::next_permutation(perm.begin(), perm.end()));
    CHECK(checked == 24);
    CHECK(transpose(Tensor(x), 1, 2).shape() == Shape{2, 4, 3, 5});  // splitting heads
    CHECK(transpose(Tensor(zeros({0, 3, 2})), {2, 1, 0}).shape() == Shape{2, 3, 0});
    check_gradients([](const Inputs& v) { return transpose(v[0], 1, 2); }, {random_array({2, 3, 2, 2}, 49)});
}

TEST_CASE("reshape: with an inferred dimension; errors name both shapes") {
    Tensor a(m23);
    CHECK(reshape(a, {3, infer}).shape() == Shape{3, 2});
    CHECK_ARRAY_EQ(reshape(a, {6}).value(), array({1, 2, 3, 4, 5, 6}));
    check_gradients([](const Inputs& x) { return reshape(x[0], {4, infer}); }, {random_array({2, 3, 2}, 43)});
    CHECK_THROWS_WITH_AS(reshape(a, {4, 2}), "reshape: cannot reshape [2, 3] (6 elements) into [4, 2]", Error);
    CHECK_THROWS_WITH_AS(reshape(a, {infer, infer}), "reshape: only one axis can be inferred, got [-1, -1]", Error);
    CHECK_THROWS_WITH_AS(reshape(a, {4, infer}), "reshape: cannot reshape [2, 3] into [4, -1]", Error);
}

TEST_CASE("broadcast_to: repeats, and the gradient sums back") {
    Tensor a(array({1, 2, 3}));
    CHECK_ARRAY_EQ(broadcast_to(a, {2, 3}).value(), array({1, 2, 3, 1, 2, 3}, {2, 3}));
    check_gradients([](const Inputs& x) { return broadcast_to(x[0], {4, 2, 3}); }, {random_array({2, 1}, 44)});
    CHECK_THROWS_WITH_AS(broadcast_to(a, {2, 4}), "broadcast_to: shapes [3] and [2, 4] cannot be broadcast together (axis 1: 3 vs 4)", Error);
    CHECK_THROWS_WITH_AS(broadcast_to(a, {3, 1}), "broadcast_to: shape [3] cannot be broadcast to [3, 1]", Error);
}

TEST_CASE("broadcast_to: an axis given as infer keeps the input's length, as -1 in PyTorch's expand") {
    Tensor a(random_array({2, 1, 3}, 46));
    CHECK(broadcast_to(a, {infer, 4, infer}).shape() == Shape{2, 4, 3});
    CHECK(broadcast_to(a, {5, infer, 4, 3}).shape() == Shape{5, 2, 4, 3});
    CHECK_ARRAY_EQ(broadcast_to(a, {infer, 4, infer}).value(), broadcast_to(a, {2, 4, 3}).value());
    check_gradients([](const Inputs& x) { return broadcast_to(x[0], {infer, 4, infer}); }, {random_array({2, 1, 3}, 47)});
    CHECK_THROWS_WITH_AS(broadcast_to(a, {infer, 2, 4, 3}),
                         "broadcast_to: axis 0 of [-1, 2, 4, 3] is new, so its length cannot be kept from shape [2, 1, 3]",
                         Error);
}

TEST_CASE("squeeze and unsqueeze: add and drop axes of length 1") {
    Tensor a(random_array({2, 1, 3}, 45));
    CHECK(squeeze(a, 1).shape() == Shape{2, 3});
    CHECK(unsqueeze(a, 0).shape() == Shape{1, 2, 1, 3});
    CHECK(unsqueeze(a, -1).shape() == Shape{2, 1, 3, 1});
    check_gradients([](const Inputs& x) { return squeeze(x[0], 1); }, {random_array({2, 1, 3}, 46)});
    check_gradients([](const Inputs& x) { return unsqueeze(x[0], 1); }, {random_array({2, 3}, 47)});
    CHECK_THROWS_WITH_AS(squeeze(a, 0), doctest::Contains("has length 2, not 1"), Error);
}

TEST_CASE("concat: joins along an axis and splits the gradient back") {
    Tensor a(m23), b(array({7, 8}, {2, 1}));
    CHECK_ARRAY_EQ(concat({a, b}, 1).value(), array({1, 2, 3, 7, 4, 5, 6, 8}, {2, 4}));
    CHECK_ARRAY_EQ(concat({a, a}, 0).value(), array({1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6}, {4, 3}));
    check_gradients([](const Inputs& x) { return concat({x[0], x[1], x[2]}, 1); },
                    {random_array({2, 1, 3}, 48), random_array({2, 2, 3}, 49), random_array({2, 3, 3}, 50)});
    CHECK_THROWS_WITH_AS(concat({a, b}, 0), doctest::Contains("concat: shapes [2, 3] and [2, 1] differ outside axis 0"), Error);
}

TEST_CASE("stack and unstack: a new axis, and its inverse") {
    Tensor a(array({1, 2})), b(array({3, 4}));
    CHECK_ARRAY_EQ(stack({a, b}, 0).value(), array({1, 2, 3, 4}, {2, 2}));
    CHECK_ARRAY_EQ(stack({a, b}, 1).value(), array({1, 3, 2, 4}, {2, 2}));
    check_gradients([](const Inputs& x) { return stack({x[0], x[1]}, 1); }, {random_array({2, 3}, 51), random_array({2, 3}, 52)});
    auto parts = unstack(Tensor(m23), 1);
    REQUIRE(parts.size() == 3);
    CHECK_ARRAY_EQ(parts[2].value(), array({3, 6}));
    check_gradients([](const Inputs& x) {
        auto p = unstack(x[0], 0);
        return p[0] * p[2] + p[1];
    }, {random_array({3, 4}, 53)});
    CHECK_THROWS_WITH_AS(stack({a, Tensor(zeros({3}))}, 0), doctest::Contains("stack: shapes [2] and [3] differ"), Error);
}

TEST_CASE("slice: a range along an axis, negative indices from the end") {
    Tensor a(m23);
    CHECK_ARRAY_EQ(slice(a, 1, 1, 3).value(), array({2, 3, 5, 6}, {2, 2}));
    CHECK_ARRAY_EQ(slice(a, 1, -1, 3).value(), array({3, 6}, {2, 1}));
    check_gradients([](const Inputs& x) { return slice(x[0], 1, 1, 3); }, {random_array({2, 4, 3}, 54)});
    CHECK_THROWS_WITH_AS(slice(a, 0, 2, 1), doctest::Contains("slice: empty range"), Error);
}

TEST_CASE("select: one index along an axis, the axis removed") {
    Tensor a(m23);
    CHECK_ARRAY_EQ(select(a, 0, 1).value(), array({4, 5, 6}));
    CHECK_ARRAY_EQ(select(a, 1, -1).value(), array({3, 6}));
    check_gradients([](const Inputs& x) { return select(x[0], 1, 2); }, {random_array({2, 4, 3}, 55)});
    CHECK_THROWS_WITH_AS(select(a, 1, 3), doctest::Contains("select: index 3 is out of range"), Error);
}
