// The conditional VAE added in docs/adding_a_model.md: the same checks as every model.
#include "models/vae/conditional_vae.hpp"
#include "nn/nn.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::models::vae;
using autograd::Tensor;
using tapegrad::testing::check_module_gradients;
using tapegrad::testing::random_array;

namespace {
ConditionalVAEConfig tiny() { return {.input = 10, .classes = 3, .hidden = 8, .latent = 2}; }

models::data::Batch labelled(const Array& x, const Indices& labels) {
    models::data::Batch b;
    b.x = Tensor(x);
    b.labels = labels;
    b.rows.resize(labels.size());
    return b;
}
}  // namespace

TEST_CASE("ConditionalVAE: parameter shapes include the one-hot label inputs") {
    ConditionalVAE m(tiny());
    CHECK(m.parameter("encoder_hidden.weight").shape() == Shape{8, 13});
    CHECK(m.parameter("decoder_hidden.weight").shape() == Shape{8, 5});
    CHECK_ARRAY_EQ(m.one_hot(Indices{2, 0}).value(), array({0, 0, 1, 1, 0, 0}, {2, 3}));
    CHECK_THROWS_WITH_AS(m.one_hot(Indices{3}), doctest::Contains("label 3 is not a class in [0, 3)"), Error);
}

TEST_CASE("ConditionalVAE: gradients of the -ELBO by finite differences") {
    autograd::manual_seed(40);
    ConditionalVAE m(tiny());
    const auto batch = labelled(random_array({4, 10}, 400, 0.0f, 1.0f), {0, 2, 1, 2});
    check_module_gradients(m, [&] {
        autograd::SeedScope same_noise(3);
        return m.loss(batch, 0.8f).loss;
    }, {.h = 3e-3, .rtol = 1e-2, .atol = 3e-3});
}

TEST_CASE("ConditionalVAE: overfits one batch, and the label changes what it decodes") {
    autograd::manual_seed(41);
    ConditionalVAEConfig c = tiny();
    c.hidden = 32;
    ConditionalVAE m(c);
    nn::Adam adam(m.parameters(), {.lr = 1e-2f});
    const auto batch = labelled(Array(xt::where(random_array({6, 10}, 401, 0.0f, 1.0f) > 0.5f, 1.0f, 0.0f)), {0, 1, 2, 0, 1, 2});
    const double start = m.loss(batch, 0.0f).recon_per_example();
    autograd::Tape::current().clear();
    for (int i = 0; i < 400; ++i) {
        const ELBO e = m.loss(batch, 0.01f);
        adam.zero_grad();
        e.loss.backward();
        adam.step();
    }
    CHECK(m.loss(batch, 0.01f).recon_per_example() < 0.2 * start);
    autograd::Tape::current().clear();
    autograd::NoGradGuard no_grad;
    const Tensor z(zeros({1, 2}));
    CHECK_FALSE(tapegrad::testing::compare(m.decode(z, Indices{0}).value(), m.decode(z, Indices{1}).value(), 0.0, 1e-3).ok);
}
