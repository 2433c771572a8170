// Distributions and KL divergences against PyTorch; sampling statistics;
// Monte-Carlo KL against the closed form.
#include "nn/nn.hpp"
#include "tests/support/check.hpp"
#include "tests/support/fixtures.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using namespace tapegrad::nn::dist;
using tapegrad::testing::check_gradients;
using tapegrad::testing::fixture;
using tapegrad::testing::fixture_ids;
using tapegrad::testing::random_array;

namespace {
Array F(const std::string& g, const std::string& n) { return fixture(g, n); }
}

TEST_CASE("Normal: rsample with given noise, log_prob, entropy and KL match PyTorch") {
    Tensor loc(F("normal", "loc"), true), logvar(F("normal", "logvar"), true);
    Normal q = Normal::from_logvar(loc, logvar);
    Tensor z = q.rsample(F("normal", "eps"));
    CHECK_TORCH(z.value(), F("normal", "z"));
    Tensor lp = q.log_prob(z);
    CHECK_TORCH(lp.value(), F("normal", "log_prob"));
    CHECK_TORCH(q.entropy().value(), F("normal", "entropy"));
    autograd::sum(lp * Tensor(F("normal", "g_log_prob"))).backward();
    CHECK_TORCH(loc.grad(), F("normal", "grad_loc_log_prob"));
    CHECK_TORCH(logvar.grad(), F("normal", "grad_logvar_log_prob"));
}

TEST_CASE("kl_divergence(Normal, Normal): against N(0, 1) and a general pair, values and gradients match PyTorch") {
    Tensor loc(F("normal", "loc"), true), logvar(F("normal", "logvar"), true);
    Normal q = Normal::from_logvar(loc, logvar);
    Tensor kl = kl_divergence(q, Normal::standard(q.shape()));
    CHECK_TORCH(kl.value(), F("normal", "kl_std"));
    autograd::sum(kl * Tensor(F("normal", "g_kl"))).backward();
    CHECK_TORCH(loc.grad(), F("normal", "grad_loc_kl_std"));
    CHECK_TORCH(logvar.grad(), F("normal", "grad_logvar_kl_std"));

    loc.zero_grad();
    logvar.zero_grad();
    Tensor loc2(F("normal", "loc2"), true), logvar2(F("normal", "logvar2"), true);
    Normal q2 = Normal::from_logvar(loc, logvar);
    Tensor kl2 = kl_divergence(q2, Normal::from_logvar(loc2, logvar2));
    CHECK_TORCH(kl2.value(), F("normal", "kl_pair"));
    autograd::sum(kl2 * Tensor(F("normal", "g_kl"))).backward();
    CHECK_TORCH(loc.grad(), F("normal", "grad_loc_kl_pair"));
    CHECK_TORCH(logvar.grad(), F("normal", "grad_logvar_kl_pair"));
    CHECK_TORCH(loc2.grad(), F("normal", "grad_loc2_kl_pair"));
    CHECK_TORCH(logvar2.grad(), F("normal", "grad_logvar2_kl_pair"));
}

TEST_CASE("Normal: the closed-form KL to N(0,1) is the VAE's -1/2 (1 + logvar - mu^2 - e^logvar)") {
    const Array mu = random_array({4, 3}, 200), lv = random_array({4, 3}, 201);
    Normal q = Normal::from_logvar(Tensor(mu), Tensor(lv));
    const Array textbook = -0.5f * (1.0f + lv - mu * mu - xt::exp(lv));
    CHECK_CLOSE(kl_divergence(q, Normal::standard({4, 3})).value(), textbook, 1e-5, 1e-6);
}

TEST_CASE("Normal: rsample is seeded, has the right moments, and differentiates to loc and scale") {
    Normal q(Tensor(full({20000}, 1.5f)), Tensor(full({20000}, 0.5f)));
    autograd::manual_seed(11);
    Array a = q.sample().value();
    autograd::manual_seed(11);
    CHECK_ARRAY_EQ(q.sample().value(), a);
    CHECK(xt::mean(a)() == doctest::Approx(1.5).epsilon(0.01));
    CHECK(xt::stddev(a)() == doctest::Approx(0.5).epsilon(0.02));
    const Array eps = random_array({3}, 202);
    check_gradients([&](const std::vector<Tensor>& v) { return Normal(v[0], v[1]).rsample(eps); },
                    {random_array({3}, 203), random_array({3}, 204, 0.5f, 1.5f)});
    CHECK_THROWS_WITH_AS(Normal(Tensor(zeros({2})), Tensor(array({1, 0}))), doctest::Contains("scale must be positive"), Error);
}

TEST_CASE("monte_carlo_kl: converges to the closed form") {
    autograd::manual_seed(12);
    Normal q(Tensor(array({0.5f, -1.0f})), Tensor(array({0.8f, 1.3f})));
    Normal p(Tensor(array({0.0f, 0.5f})), Tensor(array({1.0f, 0.7f})));
    Array mc = monte_carlo_kl(q, p, 40000).value();
    Array exact = kl_divergence(q, p).value();
    CHECK_CLOSE(mc, exact, 0.03, 0.01);
}

TEST_CASE("Bernoulli: log_prob, entropy and KL match PyTorch") {
    Tensor logits(F("bernoulli", "logits"), true), logits2(F("bernoulli", "logits2"), true);
    Bernoulli q(logits), p(logits2);
    Tensor lp = q.log_prob(Tensor(F("bernoulli", "value")));
    CHECK_TORCH(lp.value(), F("bernoulli", "log_prob"));
    CHECK_TORCH(q.entropy().value(), F("bernoulli", "entropy"));
    const Tensor g(F("bernoulli", "g"));
    autograd::sum(lp * g).backward();
    CHECK_TORCH(logits.grad(), F("bernoulli", "grad_logits_log_prob"));
    logits.zero_grad();
    Tensor kl = kl_divergence(q, p);
    // One KL value is ~1.6e-6 (nearly equal logits): float32 rounding there is far
    // above 1e-4 relative, so an absolute floor of 1e-6 applies.
    CHECK_CLOSE(kl.value(), F("bernoulli", "kl"), 1e-4, 1e-6);
    autograd::sum(kl * g).backward();
    CHECK_TORCH(logits.grad(), F("bernoulli", "grad_logits_kl"));
    CHECK_TORCH(logits2.grad(), F("bernoulli", "grad_logits2_kl"));
}

TEST_CASE("Categorical: log_prob, entropy and KL match PyTorch; samples follow the probabilities") {
    Tensor logits(F("categorical", "logits"), true), logits2(F("categorical", "logits2"), true);
    Categorical q(logits), p(logits2);
    Tensor lp = q.log_prob(fixture_ids("categorical", "value"));
    CHECK_TORCH(lp.value(), F("categorical", "log_prob"));
    CHECK_TORCH(q.entropy().value(), F("categorical", "entropy"));
    const Tensor g(F("categorical", "g"));
    autograd::sum(lp * g).backward();
    CHECK_TORCH(logits.grad(), F("categorical", "grad_logits_log_prob"));
    logits.zero_grad();
    Tensor kl = kl_divergence(q, p);
    CHECK_TORCH(kl.value(), F("categorical", "kl"));
    autograd::sum(kl * g).backward();
    CHECK_TORCH(logits.grad(), F("categorical", "grad_logits_kl"));
    CHECK_TORCH(logits2.grad(), F("categorical", "grad_logits2_kl"));

    autograd::manual_seed(13);
    Array lg = xt::zeros<float>({5000, 3});
    for (std::size_t i = 0; i < 5000; ++i) lg(i, 2) = std::log(2.0f);  // p = (1/4, 1/4, 1/2)
    Indices s = Categorical(Tensor(lg)).sample();
    const auto twos = std::count(s.begin(), s.end(), 2);
    CHECK(twos > 2350);
    CHECK(twos < 2650);
}
