// The Transformer sentence VAE: against the PyTorch reference model's fixture
// (every intermediate, the loss and the gradient of every parameter), cached
// step-by-step decoding against the whole-sequence decoder, generation, and
// finite differences through the whole -ELBO.
#include "models/vae/generate.hpp"
#include "models/vae/transformer_vae.hpp"
#include "nn/nn.hpp"
#include "tests/support/check.hpp"
#include "tests/support/fixtures.hpp"

using namespace tapegrad;
using namespace tapegrad::models;
using namespace tapegrad::models::vae;
using autograd::Tensor;
using tapegrad::testing::fixture;
using tapegrad::testing::fixture_ids;

namespace {

TransformerVAEConfig tiny(std::size_t vocab = 11) {
    TransformerVAEConfig c;
    c.vocab = vocab;
    c.d_model = 8;
    c.heads = 2;
    c.ff = 16;
    c.layers = 2;
    c.latent = 4;
    c.max_positions = 8;
    c.dropout = 0.0f;
    return c;
}

// The fixture's batch: inputs <s> w.., targets w.. </s>, lengths.
data::Batch fixture_batch() {
    data::Batch b;
    b.text.inputs = fixture_ids("transformer_vae", "inp");
    b.text.targets = fixture_ids("transformer_vae", "tgt");
    const Indices lengths = fixture_ids("transformer_vae", "lengths");
    b.text.lengths.assign(lengths.begin(), lengths.end());
    b.rows = {0, 1, 2};
    b.text.rows = b.rows;
    return b;
}

}  // namespace

TEST_CASE("TransformerVAE: the reference model's numbers and every gradient (PyTorch fixture)") {
    TransformerVAE m(tiny());
    for (auto& [name, t] : m.named_parameters()) t.mutable_value() = fixture("transformer_vae", name);
    const data::Batch b = fixture_batch();
    const nn::dist::Normal q = m.posterior(b);
    CHECK_TORCH(q.loc.value(), fixture("transformer_vae", "mean"));
    CHECK_TORCH(Array(2.0f * q.log_scale.value()), fixture("transformer_vae", "logv"));
    const Tensor eps(fixture("transformer_vae", "eps"));
    const Tensor z = q.loc + eps * q.scale;
    CHECK_TORCH(z.value(), fixture("transformer_vae", "z"));
    const Tensor nll = m.token_nll(b.text, z);
    CHECK_TORCH(nll.value(), fixture("transformer_vae", "nll_tok"));
    const Tensor kl = autograd::sum(nn::dist::kl_divergence(q, nn::dist::Normal::standard({3, 4})), -1);
    CHECK_TORCH(kl.value(), fixture("transformer_vae", "kl"));
    const Tensor loss = (autograd::sum(nll) + 0.5f * autograd::sum(kl)) / 3.0f;
    CHECK_TORCH(loss.value(), fixture("transformer_vae", "loss"));
    loss.backward();
    std::size_t checked = 0;
    for (auto& [name, t] : m.named_parameters()) {
        INFO("parameter " << name);
        CHECK_TORCH(t.grad(), fixture("transformer_vae", "grad_" + name));
        ++checked;
    }
    CHECK(checked == 74);
}

TEST_CASE("TransformerVAE: decoding with cached keys and values gives the whole-sequence decoder's logits") {
    for (bool z_at_inputs : {false, true}) {
        autograd::manual_seed(60);
        TransformerVAEConfig c = tiny(9);
        c.z_at_inputs = z_at_inputs;
        TransformerVAE m(c);
        m.eval();
        autograd::NoGradGuard no_grad;
        const Tensor z(tapegrad::testing::random_array({2, 4}, 601));
        // Teacher-forced tokens of two sentences of 5.
        data::TextBatch b;
        b.inputs = Indices{{2, 5, 7, 4, 6}, {2, 8, 8, 4, 5}};
        b.targets = Indices{{5, 7, 4, 6, 3}, {8, 8, 4, 5, 3}};
        b.lengths = {5, 5};
        const Array whole = autograd::linear(m.decoder_hidden(b, z), m.outputs2vocab.weight, m.outputs2vocab.bias).value();
        auto state = m.start(z, {});
        for (std::size_t t = 0; t < 5; ++t) {
            Indices tokens = {b.inputs(0, t), b.inputs(1, t)};
            const Array logits = m.step(tokens, *state).value();  // [2, V]
            for (std::size_t r = 0; r < 2; ++r) {
                CAPTURE(t);
                CAPTURE(r);
                CHECK_CLOSE(Array(xt::view(logits, r, xt::all())), Array(xt::view(whole, r * 5 + t, xt::all())), 1e-4, 1e-5);
            }
        }
    }
}

TEST_CASE("TransformerVAE: greedy and width-1 beam agree; positions past the learned ones are refused") {
    autograd::manual_seed(61);
    TransformerVAE m(tiny(9));
    const Array z = tapegrad::testing::random_array({3, 4}, 602);
    DecodeOptions greedy;
    greedy.max_length = 7;
    const auto g = decode(m, z, greedy);
    REQUIRE(g.size() == 3);
    DecodeOptions beam1 = greedy;
    beam1.method = Decoding::beam;
    beam1.beam_width = 1;
    beam1.length_penalty = 0.0f;
    CHECK(decode(m, z, beam1) == g);
    DecodeOptions beam4 = beam1;
    beam4.beam_width = 4;
    CHECK(decode(m, z, beam4).size() == 3);
    DecodeOptions too_long = greedy;
    too_long.max_length = 20;
    bool refused_or_ended = true;
    try {
        for (const auto& s : decode(m, z, too_long)) refused_or_ended = refused_or_ended && s.size() < 8;
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("learned positions") != std::string::npos);
    }
    CHECK(refused_or_ended);
}

TEST_CASE("TransformerVAE: gradients of the whole -ELBO by finite differences, with z at the inputs and word dropout") {
    autograd::manual_seed(62);
    TransformerVAEConfig c = tiny(9);
    c.layers = 1;
    c.z_at_inputs = true;
    c.word_dropout = 0.3f;
    c.dropout = 0.1f;
    TransformerVAE m(c);
    data::Batch b;
    b.text.inputs = Indices{{2, 5, 7, 4}, {2, 8, 0, 0}};
    b.text.targets = Indices{{5, 7, 4, 3}, {8, 3, 0, 0}};
    b.text.lengths = {4, 2};
    b.rows = {0, 1};
    tapegrad::testing::check_module_gradients(m, [&] {
        autograd::SeedScope same_noise(9);
        return m.loss(b, 0.6f).loss;
    }, {.h = 3e-3, .rtol = 2e-2, .atol = 3e-3}, 3);
}
