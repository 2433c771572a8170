// gather (the embedding lookup), where, dropout.
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;
using namespace tapegrad::testing;  // check_gradients, random_array, Inputs

TEST_CASE("gather: rows by id, any id shape") {
    Tensor table(array({0, 1, 10, 11, 20, 21}, {3, 2}));
    Indices ids = {{2, 0}, {1, 2}};
    Tensor y = gather(table, ids);
    CHECK(y.shape() == Shape{2, 2, 2});
    CHECK_ARRAY_EQ(y.value(), array({20, 21, 0, 1, 10, 11, 20, 21}, {2, 2, 2}));
}

TEST_CASE("gather: a repeated id sums its gradients (scatter-add)") {
    Tensor table(zeros({4, 3}), true);
    Indices ids = {1, 3, 1, 1};
    Tensor y = gather(table, ids);
    y.backward(ones({4, 3}));
    CHECK_ARRAY_EQ(table.grad(), array({0, 0, 0, 3, 3, 3, 0, 0, 0, 1, 1, 1}, {4, 3}));
    Indices ids2 = {{0, 2, 2}, {3, 0, 1}};
    check_gradients([&](const Inputs& x) { return gather(x[0], ids2); }, {random_array({4, 3}, 60)});
}

TEST_CASE("gather: the no-gradient id reads its row and gets no gradient (an embedding's padding row)") {
    Tensor table(array({5, 6, 7, 8}, {2, 2}), true);
    Indices ids = {0, 1, 0};
    Tensor y = gather(table, ids, 0);
    CHECK_ARRAY_EQ(y.value(), array({5, 6, 7, 8, 5, 6}, {3, 2}));
    y.backward(ones({3, 2}));
    CHECK_ARRAY_EQ(table.grad(), array({0, 0, 1, 1}, {2, 2}));
}

TEST_CASE("gather: an id out of range names the id, its position and the table") {
    Tensor table(zeros({3, 2}));
    Indices bad = {0, 3};
    CHECK_THROWS_WITH_AS(gather(table, bad), "gather: id 3 at position 1 is out of range for a table of 3 rows (shape [3, 2])", Error);
}

TEST_CASE("where: selects element-wise, gradients go to the chosen side") {
    Tensor m(array({1, 0, 1}));
    Tensor a(array({1, 2, 3})), b(array({10, 20, 30}));
    CHECK_ARRAY_EQ(where(m, a, b).value(), array({1, 20, 3}));
    check_gradients([&](const Inputs& x) { return where(m, x[0], x[1]); }, {random_array({2, 3}, 61), random_array({3}, 62)});
    Tensor bad(array({1, 0}));
    CHECK_THROWS_WITH_AS(where(bad, a, b), doctest::Contains("where (condition)"), Error);
}

TEST_CASE("dropout: a given mask scales, a probability draws from the seeded engine") {
    Tensor a(array({1, 2, 3, 4}));
    CHECK_ARRAY_EQ(dropout(a, array({0, 2, 2, 0})).value(), array({0, 4, 6, 0}));
    check_gradients([](const Inputs& x) { return dropout(x[0], array({0, 2, 2, 0})); }, {random_array({4}, 63)});
    manual_seed(3);
    Array y1 = dropout(Tensor(ones({1000})), 0.25f).value();
    manual_seed(3);
    Array y2 = dropout(Tensor(ones({1000})), 0.25f).value();
    CHECK_ARRAY_EQ(y1, y2);
    const auto dropped = std::count(y1.begin(), y1.end(), 0.0f);
    CHECK(dropped > 200);
    CHECK(dropped < 300);
    CHECK(std::all_of(y1.begin(), y1.end(), [](float v) { return v == 0.0f || v == doctest::Approx(1.0f / 0.75f); }));
    CHECK_THROWS_WITH_AS(dropout(a, 1.0f), doctest::Contains("must lie in [0, 1)"), Error);
}

TEST_CASE("dropout(a, p) keeps a byte mask: the same values and gradients as its float mask from dropout_mask") {
    const Array x = random_array({3, 5, 7}, 67), g = random_array({3, 5, 7}, 68);
    for (float p : {0.1f, 0.5f, 0.9f}) {
        Tensor a(x, true), b(x, true);
        manual_seed(11);
        Tensor y1 = dropout(a, p);
        manual_seed(11);
        Tensor y2 = dropout(b, dropout_mask(b.shape(), p));
        CHECK(y1.value() == y2.value());  // bit for bit
        (sum(y1 * Tensor(g)) + sum(y2 * Tensor(g))).backward();  // one sweep: both graphs
        CHECK(a.grad() == b.grad());
    }
    check_gradients([](const Inputs& v) {
        manual_seed(12);  // the same mask at every evaluation
        return dropout(v[0], 0.3f);
    }, {x});
}

TEST_CASE("take_rows: rows of the flattened leading axes, equal to gather after reshape, without the copy") {
    const Array x = random_array({2, 3, 4}, 64);
    Indices rows = {5, 0, 5, 2};
    CHECK_ARRAY_EQ(take_rows(Tensor(x), rows).value(), gather(reshape(Tensor(x), {6, 4}), rows).value());
    check_gradients([&](const Inputs& v) { return take_rows(v[0], rows); }, {x});
    Indices bad = {6};
    CHECK_THROWS_WITH_AS(take_rows(Tensor(x), bad), doctest::Contains("row 6 at position 0 is out of range for 6 rows"), Error);
}

TEST_CASE("put_rows: the adjoint of take_rows; puts packed rows back into a padded layout") {
    const Array x = random_array({4, 3}, 65);
    Indices rows = {5, 0, 2, 3};
    const Array y = put_rows(Tensor(x), rows, 6).value();
    REQUIRE(y.shape() == std::vector<std::size_t>{6, 3});
    CHECK_ARRAY_EQ(take_rows(Tensor(y), rows).value(), x);  // distinct ids: back where they were taken
    for (std::size_t r : {1, 4})
        for (std::size_t d = 0; d < 3; ++d) CHECK(y(r, d) == 0.0f);  // untouched rows are zeros
    // A repeated id sums, so that <put_rows(x), g> = <x, take_rows(g)> for any g.
    Indices repeated = {1, 1, 0, 1};
    const Array g = random_array({2, 3}, 66);
    const Array p = put_rows(Tensor(x), repeated, 2).value();
    CHECK(static_cast<double>(xt::sum(p * g)()) ==
          doctest::Approx(static_cast<double>(xt::sum(x * take_rows(Tensor(g), repeated).value())())).epsilon(1e-5));
    check_gradients([&](const Inputs& v) { return put_rows(v[0], rows, 6); }, {x});
    check_gradients([&](const Inputs& v) { return put_rows(v[0], repeated, 2); }, {x});
    // Into [2, 3, D]: the same values under the padded batch's shape.
    const Array padded = put_rows(Tensor(x), rows, Shape{2, 3}).value();
    REQUIRE(padded.shape() == std::vector<std::size_t>{2, 3, 3});
    CHECK(std::equal(padded.begin(), padded.end(), y.begin()));
    check_gradients([&](const Inputs& v) { return put_rows(v[0], rows, Shape{2, 3}); }, {x});
    Indices bad = {6, 0, 1, 2};
    CHECK_THROWS_WITH_AS(put_rows(Tensor(x), bad, 6), doctest::Contains("put_rows: row 6 at position 0 is out of range for 6 rows"), Error);
    CHECK_THROWS_WITH_AS(put_rows(Tensor(x), bad, Shape{2, 3}), doctest::Contains("out of range for 6 rows"), Error);
    CHECK_THROWS_WITH_AS(put_rows(Tensor(x), Indices{0, 1}, 6), doctest::Contains("needs x [N, D] and N row ids"), Error);
}
