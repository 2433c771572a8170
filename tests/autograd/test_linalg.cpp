// matmul and linear go straight to cblas_sgemm; checked against hand-computed
// products and by finite differences.
#include <tuple>

#include "autograd/kernels/blas.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;
using namespace tapegrad::testing;  // check_gradients, random_array, Inputs

TEST_CASE("matmul: 2-D product") {
    Tensor a(array({1, 2, 3, 4, 5, 6}, {2, 3})), b(array({1, 0, 0, 1, 1, 1}, {3, 2}));
    CHECK_ARRAY_EQ(matmul(a, b).value(), array({4, 5, 10, 11}, {2, 2}));
    check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {random_array({3, 4}, 70), random_array({4, 5}, 71)});
}

TEST_CASE("matmul: batched 3-D times 2-D") {
    Tensor a(array({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2})), b(array({1, 1, 0, 1}, {2, 2}));
    CHECK_ARRAY_EQ(matmul(a, b).value(), array({1, 3, 3, 7, 5, 11, 7, 15}, {2, 2, 2}));
    check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {random_array({2, 3, 4}, 72), random_array({4, 2}, 73)});
}

TEST_CASE("matmul: mismatched inner dimensions name both shapes") {
    Tensor a(zeros({2, 3})), b(zeros({2, 2}));
    CHECK_THROWS_WITH_AS(matmul(a, b), "matmul: shapes [2, 3] and [2, 2] do not fit ([..., M, K] times [..., K, N])", Error);
}

TEST_CASE("linear: x W^T + b with PyTorch's weight layout, with and without bias") {
    Tensor x(array({1, 2, 3, 4}, {2, 2})), w(array({1, 0, 1, 1, 0, 2}, {3, 2})), b(array({10, 20, 30}));
    CHECK_ARRAY_EQ(linear(x, w, b).value(), array({11, 23, 34, 13, 27, 38}, {2, 3}));
    CHECK_ARRAY_EQ(linear(x, w).value(), array({1, 3, 4, 3, 7, 8}, {2, 3}));
    check_gradients([](const Inputs& v) { return linear(v[0], v[1], v[2]); },
                    {random_array({4, 3}, 74), random_array({5, 3}, 75), random_array({5}, 76)});
    check_gradients([](const Inputs& v) { return linear(v[0], v[1]); }, {random_array({2, 3, 3}, 77), random_array({2, 3}, 78)});
    CHECK_THROWS_WITH_AS(linear(x, Tensor(zeros({3, 3}))), doctest::Contains("linear: input [2, 2] does not fit weight [3, 3]"), Error);
}

TEST_CASE("linear: equals matmul with the transposed weight plus a broadcast bias") {
    const Array x = random_array({6, 4}, 79), w = random_array({3, 4}, 80), b = random_array({3}, 81);
    Array fused = linear(Tensor(x), Tensor(w), Tensor(b)).value();
    Array composed = (matmul(Tensor(x), transpose(Tensor(w))) + Tensor(b)).value();
    CHECK_CLOSE(fused, composed, 1e-5, 1e-6);
}

TEST_CASE("sgemm: products split between threads agree with a plain sum, in every layout and with padded rows") {
    const int before = kernels::num_threads();
    // 12 x 40 x 20 stays on one thread; the others are split: by columns (n >= m),
    // by rows (m > n), at sizes that are not multiples of the split's grain, in two
    // and in three pieces.
    for (auto [m, n, k, threads] : {std::tuple{12, 40, 20, 2}, std::tuple{64, 256, 256, 2}, std::tuple{33, 301, 300, 2},
                                    std::tuple{401, 37, 250, 2}, std::tuple{33, 301, 300, 3}, std::tuple{401, 37, 250, 3}}) {
        kernels::set_num_threads(threads);
        for (int layout = 0; layout < 4; ++layout) {
            const bool ta = layout & 1, tb = layout & 2;
            const std::size_t M = m, N = n, K = k;
            const Array a = random_array(ta ? Shape{K, M} : Shape{M, K}, 120), b = random_array(tb ? Shape{N, K} : Shape{K, N}, 121);
            Array c = random_array({M, N}, 122);
            const Array c0 = c;
            kernels::sgemm(ta, tb, m, n, k, 0.5f, a.data(), ta ? m : k, b.data(), tb ? k : n, 2.0f, c.data(), n);
            CHECK(kernels::num_threads() == threads);
            Array expected = Array::from_shape({M, N});
            for (std::size_t i = 0; i < M; ++i)
                for (std::size_t j = 0; j < N; ++j) {
                    double acc = 0;
                    for (std::size_t l = 0; l < K; ++l)
                        acc += double(ta ? a(l, i) : a(i, l)) * double(tb ? b(j, l) : b(l, j));
                    expected(i, j) = float(0.5 * acc + 2.0 * c0(i, j));
                }
            INFO("m n k = " << m << " " << n << " " << k << ", trans_a " << ta << ", trans_b " << tb << ", threads " << threads);
            CHECK_CLOSE(c, expected, 1e-4, 1e-4);
            Array d = Array::from_shape({M, N});
            kernels::openblas_sgemm(ta, tb, m, n, k, 0.5f, a.data(), ta ? m : k, b.data(), tb ? k : n, 0.0f, d.data(), n);
            CHECK_CLOSE(d, expected - 2.0f * c0, 1e-4, 1e-4);
        }
    }
    // Row strides wider than the matrices (sub-blocks of larger arrays), A and B
    // transposed, every leading dimension padded by 5: 70 x 90 x 60 is split by
    // columns, 120 x 40 x 60 by rows.
    kernels::set_num_threads(2);
    for (auto [m, n, k] : {std::tuple{70, 90, 60}, std::tuple{120, 40, 60}}) {
        const int lda = m + 5, ldb = k + 5, ldc = n + 5;
        const Array a = random_array({std::size_t(k), std::size_t(lda)}, 123), b = random_array({std::size_t(n), std::size_t(ldb)}, 124);
        Array c = zeros({std::size_t(m), std::size_t(ldc)});
        kernels::sgemm(true, true, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), ldc);
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < ldc; ++j) {
                double acc = 0;
                if (j < n)
                    for (int l = 0; l < k; ++l) acc += double(a(l, i)) * double(b(j, l));
                INFO("m n k = " << m << " " << n << " " << k << ", c(" << i << ", " << j << ")");
                REQUIRE(std::abs(c(i, j) - acc) <= 1e-4 + 1e-4 * std::abs(acc));  // the padding stays 0
            }
    }
    kernels::set_num_threads(before);
}

TEST_CASE("kernels::transpose: b = a^T for square, wide, tall, single-row and empty matrices") {
    for (auto [rows, cols] : {std::pair{3, 3}, std::pair{2, 5}, std::pair{768, 256}, std::pair{1, 7}, std::pair{7, 1}}) {
        const Array a = random_array({std::size_t(rows), std::size_t(cols)}, 125);
        Array b = Array::from_shape({std::size_t(cols), std::size_t(rows)});
        kernels::transpose(rows, cols, a.data(), b.data());
        INFO("rows " << rows << ", cols " << cols);
        CHECK(b == Array(xt::transpose(a)));
    }
    Array untouched = array({4.0f});
    kernels::transpose(0, 3, nullptr, untouched.data());  // nothing to read or write
    kernels::transpose(3, 0, nullptr, untouched.data());
    CHECK(untouched(0) == 4.0f);
}
