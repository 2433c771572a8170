// Linear, Embedding, Dropout and the sentence-VAE dropouts, against PyTorch fixtures.
#include "nn/nn.hpp"
#include "tests/support/check.hpp"
#include "tests/support/fixtures.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using tapegrad::testing::fixture;
using tapegrad::testing::fixture_ids;

TEST_CASE("Linear: output and gradients match PyTorch") {
    Linear fc(5, 3);
    CHECK(fc.weight.shape() == Shape{3, 5});
    fc.weight.mutable_value() = fixture("linear", "weight");
    fc.bias.mutable_value() = fixture("linear", "bias");
    Tensor x(fixture("linear", "x"), true);
    Tensor y = fc(x);
    CHECK_TORCH(y.value(), fixture("linear", "y"));
    y.backward(fixture("linear", "g_y"));
    CHECK_TORCH(x.grad(), fixture("linear", "grad_x"));
    CHECK_TORCH(fc.weight.grad(), fixture("linear", "grad_weight"));
    CHECK_TORCH(fc.bias.grad(), fixture("linear", "grad_bias"));
}

TEST_CASE("Linear: default init is U(-1/sqrt(in), 1/sqrt(in)) as PyTorch, and no bias on request") {
    autograd::manual_seed(0);
    Linear fc(400, 300);
    const float bound = 1.0f / 20.0f;
    CHECK(xt::amax(fc.weight.value())() <= bound);
    CHECK(xt::amin(fc.weight.value())() >= -bound);
    CHECK(xt::amax(fc.weight.value())() > 0.99f * bound);  // spans the range
    Linear nob(4, 2, false);
    CHECK_FALSE(nob.bias.defined());
    CHECK(nob.named_parameters().size() == 1);
}

TEST_CASE("Embedding: lookup and scatter-add gradient match PyTorch, padding row untouched") {
    Embedding emb(10, 4, 0);
    CHECK(xt::all(xt::equal(xt::view(emb.weight.value(), 0, xt::all()), 0.0f)));
    emb.weight.mutable_value() = fixture("embedding", "weight");
    const Indices ids = fixture_ids("embedding", "ids");
    Tensor y = emb(ids);
    CHECK(y.shape() == Shape{3, 5, 4});
    CHECK_TORCH(y.value(), fixture("embedding", "y"));
    y.backward(fixture("embedding", "g_y"));
    CHECK_TORCH(emb.weight.grad(), fixture("embedding", "grad_weight"));
}

TEST_CASE("Dropout: active in training, identity in evaluation, seeded") {
    Dropout drop(0.5f);
    Tensor x(ones({200}));
    autograd::manual_seed(4);
    Array a = drop(x).value();
    autograd::manual_seed(4);
    CHECK_ARRAY_EQ(drop(x).value(), a);
    CHECK(std::count(a.begin(), a.end(), 0.0f) > 60);
    CHECK(std::count(a.begin(), a.end(), 2.0f) > 60);
    drop.eval();
    CHECK_ARRAY_EQ(drop(x).value(), ones({200}));
    CHECK_THROWS_WITH_AS(Dropout(1.5f), doctest::Contains("must lie in [0, 1)"), Error);
}

TEST_CASE("embedding_dropout: element-wise dropout of embedded inputs, training only") {
    Tensor e(ones({4, 5, 6}));
    CHECK_ARRAY_EQ(embedding_dropout(e, 0.5f, false).value(), ones({4, 5, 6}));
    Array d = embedding_dropout(e, 0.5f, true).value();
    CHECK(std::count(d.begin(), d.end(), 0.0f) > 20);
}

TEST_CASE("word_dropout: replaces tokens by <unk> at rate p, never the kept ones") {
    autograd::manual_seed(1);
    Indices t = xt::zeros<std::int64_t>({1000});
    for (std::size_t i = 0; i < t.size(); ++i) t(i) = static_cast<std::int64_t>(i % 5);  // 0 = <pad>, 2 = <sos>
    Indices d = word_dropout(t, 0.3f, 1, {0, 2});
    std::size_t replaced = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t(i) == 0 || t(i) == 2) CHECK(d(i) == t(i));
        if (d(i) != t(i)) {
            CHECK(d(i) == 1);
            ++replaced;
        }
    }
    // 400 droppable tokens of ids 3 and 4 (id 1 is <unk> already): about 30% of them replaced.
    CHECK(replaced > 80);
    CHECK(replaced < 160);
    CHECK_ARRAY_EQ(word_dropout(t, 0.0f, 1, {}), t);
}

TEST_CASE("cross_entropy: mean, sum and none with an ignored target match PyTorch") {
    const Array logits = fixture("cross_entropy", "logits");
    const Indices targets = fixture_ids("cross_entropy", "targets");
    struct Case {
        autograd::Reduction r;
        const char* loss;
        const char* grad;
    };
    for (const Case& c : {Case{autograd::Reduction::mean, "loss_mean", "grad_logits_mean"},
                          Case{autograd::Reduction::sum, "loss_sum", "grad_logits_sum"},
                          Case{autograd::Reduction::none, "loss_none", "grad_logits_none"}}) {
        Tensor x(logits, true);
        Tensor l = autograd::cross_entropy(x, targets, c.r);
        CHECK_TORCH(l.value(), fixture("cross_entropy", c.loss));
        l.backward(c.r == autograd::Reduction::none ? fixture("cross_entropy", "g_loss_none") : ones({}));
        CHECK_TORCH(x.grad(), fixture("cross_entropy", c.grad));
    }
}
