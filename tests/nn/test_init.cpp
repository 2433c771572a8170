// Initialisers: ranges and spreads as torch.nn.init defines them, orthogonality.
#include <xtensor-blas/xlinalg.hpp>

#include "nn/nn.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {
double stddev(const Array& a) { return xt::stddev(a)(); }
}  // namespace

TEST_CASE("init: fans as PyTorch computes them") {
    CHECK(init::fans({30, 20}) == std::pair<float, float>{20.0f, 30.0f});
    CHECK(init::fans({8, 4, 3, 3}) == std::pair<float, float>{36.0f, 72.0f});
    CHECK_THROWS_WITH_AS(init::fans({5}), doctest::Contains("at least 2 axes"), Error);
}

TEST_CASE("init: xavier and kaiming ranges and standard deviations") {
    autograd::manual_seed(30);
    Tensor w(zeros({300, 200}), true);
    init::xavier_uniform(w);
    const float b = std::sqrt(6.0f / 500.0f);
    CHECK(xt::amax(w.value())() <= b);
    CHECK(xt::amin(w.value())() >= -b);
    CHECK(stddev(w.value()) == doctest::Approx(b / std::sqrt(3.0f)).epsilon(0.02));
    init::xavier_normal(w, 2.0f);
    CHECK(stddev(w.value()) == doctest::Approx(2.0 * std::sqrt(2.0 / 500.0)).epsilon(0.02));
    init::kaiming_uniform(w);  // ReLU gain sqrt(2), fan_in 200
    CHECK(xt::amax(w.value())() <= std::sqrt(2.0f) * std::sqrt(3.0f / 200.0f));
    CHECK(stddev(w.value()) == doctest::Approx(std::sqrt(2.0 / 200.0)).epsilon(0.02));
    init::kaiming_normal(w, 0.0f, init::Fan::out);
    CHECK(stddev(w.value()) == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.02));
    init::normal(w, 1.0f, 0.5f);
    CHECK(xt::mean(w.value())() == doctest::Approx(1.0).epsilon(0.01));
    init::constant(w, 3.0f);
    CHECK(xt::all(xt::equal(w.value(), 3.0f)));
}

TEST_CASE("init: orthogonal gives orthonormal rows or columns, scaled by the gain") {
    autograd::manual_seed(31);
    for (Shape s : {Shape{6, 4}, Shape{4, 6}}) {
        Tensor w(zeros(s), true);
        init::orthogonal(w, 2.0f);
        const Array q = w.value() / 2.0f;
        const bool tall = s[0] >= s[1];
        const Array gram = tall ? Array(xt::linalg::dot(xt::transpose(q), q)) : Array(xt::linalg::dot(q, xt::transpose(q)));
        CHECK_CLOSE(gram, Array(xt::eye<float>(std::min(s[0], s[1]))), 0.0, 1e-5);
    }
}
