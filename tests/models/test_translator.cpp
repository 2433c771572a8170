// The translation models (models/vae/translator.hpp): gradients by finite
// differences, step-by-step decoding against the teacher-forced decoder, source
// padding, the deterministic model's missing z, and batched beam search against the
// one-sentence-at-a-time reference.
#include <set>

#include "models/vae/generate.hpp"
#include "models/vae/sentence_vae.hpp"
#include "models/vae/translator.hpp"
#include "tests/support/check.hpp"
#include "tests/support/fixtures.hpp"

#include "autograd/autograd.hpp"

using namespace tapegrad;
using namespace tapegrad::models;
using namespace tapegrad::models::vae;
using autograd::Tensor;
using tapegrad::testing::fixture;
using tapegrad::testing::fixture_ids;

namespace {

TranslatorConfig tiny(bool variational) {
    TranslatorConfig c;
    c.source_vocab = 11;
    c.target_vocab = 9;
    c.embed = 5;
    c.hidden = 4;
    c.latent = 3;
    c.variational = variational;
    c.dropout = 0.0f;
    return c;
}

// A sentence VAE as small as the translator, for the decoders' tests.
SentenceVAEConfig tiny_sentence_vae() {
    SentenceVAEConfig c;
    c.vocab = 12;
    c.embed = 6;
    c.hidden = 5;
    c.latent = 3;
    return c;
}

// Two pairs: sources of 4 and 2 tokens (words + </s>), targets of 4 and 3.
data::Batch two_pairs() {
    data::Batch b;
    b.source.inputs = Indices{{2, 5, 7, 4}, {2, 9, 0, 0}};
    b.source.targets = Indices{{5, 7, 4, 3}, {9, 3, 0, 0}};
    b.source.lengths = {4, 2};
    b.text.inputs = Indices{{2, 6, 7, 4}, {2, 8, 5, 0}};
    b.text.targets = Indices{{6, 7, 4, 3}, {8, 5, 3, 0}};
    b.text.lengths = {4, 3};
    b.rows = {0, 1};
    return b;
}

// The fixture's batch (tests/fixtures/make_translator_fixtures.py).
data::Batch fixture_batch(const std::string& group) {
    data::Batch b;
    b.source.targets = fixture_ids(group, "source_targets");
    b.source.inputs = b.source.targets;  // the encoder reads targets only
    for (auto n : fixture_ids(group, "source_lengths")) b.source.lengths.push_back(static_cast<std::size_t>(n));
    b.text.inputs = fixture_ids(group, "target_inputs");
    b.text.targets = fixture_ids(group, "target_targets");
    for (auto n : fixture_ids(group, "target_lengths")) b.text.lengths.push_back(static_cast<std::size_t>(n));
    b.rows = {0, 1};
    return b;
}

}  // namespace

TEST_CASE("Translator: the PyTorch twin's numbers and every gradient, deterministic and VNMT (fixtures)") {
    for (const std::string group : {"translator_det", "translator_vnmt", "translator_vnmt_emb"}) {
        CAPTURE(group);
        const bool variational = group != "translator_det";
        TranslatorConfig c = tiny(variational);
        if (group == "translator_vnmt_emb") c.posterior = TranslatorConfig::PosteriorInput::embeddings;
        Translator m(c);
        for (auto& [name, t] : m.named_parameters()) t.mutable_value() = fixture(group, name);
        m.eval();
        const data::Batch b = fixture_batch(group);
        const Translator::Encoded source = m.encode_source(b.source);
        CHECK_TORCH(source.states.value(), fixture(group, "source_states"));
        CHECK_TORCH(source.summary.value(), fixture(group, "source_summary"));
        Tensor z, kl;
        if (variational) {
            const nn::dist::Normal p = m.prior_from(source.summary), q = m.posterior_from(source.summary, b.text);
            CHECK_TORCH(p.loc.value(), fixture(group, "prior_mu"));
            CHECK_TORCH(Array(2.0f * p.log_scale.value()), fixture(group, "prior_logvar"));
            CHECK_TORCH(q.loc.value(), fixture(group, "post_mu"));
            CHECK_TORCH(Array(2.0f * q.log_scale.value()), fixture(group, "post_logvar"));
            z = q.loc + Tensor(fixture(group, "eps")) * q.scale;
            CHECK_TORCH(z.value(), fixture(group, "z"));
            kl = autograd::sum(nn::dist::kl_divergence(q, p), -1);
            CHECK_TORCH(kl.value(), fixture(group, "kl"));
        }
        const Tensor nll = m.token_nll(b, source, z);
        CHECK_TORCH(nll.value(), fixture(group, "token_nll"));
        const Tensor loss = variational ? (autograd::sum(nll) + 0.7f * autograd::sum(kl)) / 2.0f : autograd::sum(nll) / 2.0f;
        CHECK_TORCH(loss.value(), fixture(group, "loss"));
        loss.backward();
        std::size_t checked = 0;
        for (auto& [name, t] : m.named_parameters()) {
            INFO("parameter " << name);
            CHECK_TORCH(t.grad(), fixture(group, "grad_" + name));
            ++checked;
        }
        CHECK(checked == (variational ? 35 : 21));
    }
}

TEST_CASE("Translator: gradients of -log p(y|x) and of VNMT's conditional ELBO by finite differences") {
    for (bool variational : {false, true}) {
        CAPTURE(variational);
        autograd::manual_seed(70);
        TranslatorConfig c = tiny(variational);
        c.dropout = 0.1f;
        Translator m(c);
        const data::Batch b = two_pairs();
        tapegrad::testing::check_module_gradients(m, [&] {
            autograd::SeedScope same_noise(7);
            return m.loss(b, 0.7f).loss;
        }, {.h = 3e-3, .rtol = 2e-2, .atol = 3e-3}, 3);
    }
}

TEST_CASE("Translator: VNMT whose posterior reads the target's embeddings: gradients, and what it reads") {
    autograd::manual_seed(72);
    TranslatorConfig c = tiny(true);
    c.posterior = TranslatorConfig::PosteriorInput::embeddings;
    c.dropout = 0.1f;
    Translator m(c);
    CHECK(m.posterior_hidden.weight.shape() == Shape{4, 2 * 4 + 5});  // [H, 2H + E]
    const data::Batch b = two_pairs();
    tapegrad::testing::check_module_gradients(m, [&] {
        autograd::SeedScope same_noise(8);
        return m.loss(b, 0.7f).loss;
    }, {.h = 3e-3, .rtol = 2e-2, .atol = 3e-3}, 3);

    // m_y is the mean of the target's word embeddings (words and </s>), and the
    // encoder never reads the target: its parameters get no gradient from q alone.
    m.eval();
    const Tensor m_y = m.target_summary(b.text);
    REQUIRE(m_y.shape() == Shape{2, 5});
    const Array& E = m.target_embedding.weight.value();
    for (std::size_t row = 0; row < 2; ++row)
        for (std::size_t d = 0; d < 5; ++d) {
            float want = 0.0f;
            for (std::size_t t = 0; t < b.text.lengths[row]; ++t)
                want += E(static_cast<std::size_t>(b.text.targets(row, t)), d);
            CHECK(m_y.value()(row, d) == doctest::Approx(want / static_cast<float>(b.text.lengths[row])).epsilon(1e-6));
        }
    m.zero_grad();
    const Tensor q_mu = m.posterior_from(Tensor(xt::zeros<float>({2ul, 8ul})), b.text).loc;
    autograd::sum(q_mu).backward();
    for (auto& [name, t] : m.named_parameters())
        if (name.rfind("encoder", 0) == 0) CHECK_MESSAGE(!t.has_grad(), name);
    CHECK(m.target_embedding.weight.has_grad());
    // A checkpoint's config names the choice and reads back.
    CHECK(to_json(c).at("posterior") == "embeddings");
    CHECK(translator_config_from_json(to_json(c)).posterior == TranslatorConfig::PosteriorInput::embeddings);
    nlohmann::json older = to_json(tiny(true));
    older.erase("posterior");  // configs written before the choice existed
    CHECK(translator_config_from_json(older).posterior == TranslatorConfig::PosteriorInput::encoder);
    older["posterior"] = "decoder";
    CHECK_THROWS_WITH_AS(translator_config_from_json(older), doctest::Contains("unknown posterior input 'decoder'"), Error);
}

TEST_CASE("Translator: the deterministic model has no z, no KL and none of VNMT's parameters") {
    autograd::manual_seed(71);
    Translator det(tiny(false)), vnmt(tiny(true));
    CHECK(det.latent_size() == 0);
    CHECK_FALSE(det.variational());
    CHECK(vnmt.latent_size() == 3);
    std::size_t vnmt_only = 0;
    for (auto& [name, t] : det.named_parameters())
        vnmt_only += name.rfind("prior", 0) == 0 || name.rfind("posterior", 0) == 0 || name.rfind("from_z", 0) == 0;
    CHECK(vnmt_only == 0);
    CHECK(vnmt.num_parameters() > det.num_parameters());
    const data::Batch b = two_pairs();
    CHECK(det.posterior(b).loc.shape() == Shape{2, 0});
    const ELBO e = det.loss(b, 1.0f);
    CHECK(e.kl.item() == 0.0f);
    CHECK(std::isfinite(e.loss.item()));
    // VNMT's prior depends on the source: two sources, two priors.
    const nn::dist::Normal p = vnmt.prior(b);
    CHECK(p.loc.shape() == Shape{2, 3});
    CHECK(xt::amax(xt::abs(xt::view(p.loc.value(), 0, xt::all()) - xt::view(p.loc.value(), 1, xt::all())))() > 1e-4f);
}

TEST_CASE("Translator: step-by-step decoding gives the teacher-forced decoder's log-probabilities") {
    for (bool variational : {false, true}) {
        CAPTURE(variational);
        autograd::manual_seed(72);
        Translator m(tiny(variational));
        m.eval();
        autograd::NoGradGuard no_grad;
        const data::Batch b = two_pairs();
        const Tensor z(tapegrad::testing::random_array({2, m.latent_size()}, 721));
        const Array nll = m.token_nll(b, m.encode_source(b.source), z).value();  // [4 + 3]
        auto state = m.start(z, b);
        for (std::size_t t = 0, n = 0; t < 4; ++t) {
            const Array logp = autograd::log_softmax(m.step(Indices{b.text.inputs(0, t), b.text.inputs(1, t)}, *state), -1).value();
            for (std::size_t r = 0; r < 2; ++r) {
                if (t >= b.text.lengths[r]) continue;
                CAPTURE(t);
                CAPTURE(r);
                const std::size_t at = r == 0 ? t : 4 + t;  // sentence 0's tokens first
                CHECK(-logp(r, static_cast<std::size_t>(b.text.targets(r, t))) == doctest::Approx(nll(at)).epsilon(1e-4));
                ++n;
            }
        }
    }
}

TEST_CASE("Translator: a source's padding and its batch neighbours change nothing") {
    autograd::manual_seed(73);
    Translator m(tiny(true));
    m.eval();
    autograd::NoGradGuard no_grad;
    const data::Batch both = two_pairs(), second = both.subset({1});
    const Tensor z(tapegrad::testing::random_array({2, 3}, 731));
    const Array together = m.token_nll(both, m.encode_source(both.source), z).value();
    const Array alone =
        m.token_nll(second, m.encode_source(second.source), Tensor(Array(xt::view(z.value(), xt::range(1, 2), xt::all())))).value();
    REQUIRE(alone.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) CHECK(alone(k) == doctest::Approx(together(4 + k)).epsilon(1e-5));
    CHECK_CLOSE(m.prior(second).loc.value(), Array(xt::view(m.prior(both).loc.value(), xt::range(1, 2), xt::all())), 1e-5, 1e-6);
}

TEST_CASE("decode: batched beam search picks the sentences of the one-at-a-time reference") {
    autograd::manual_seed(74);
    Translator translator(tiny(true));
    SentenceVAE sentence_vae(tiny_sentence_vae());
    // Six sources of different lengths (the batch's rows), and z for each.
    data::Batch sources;
    sources.source.inputs = Indices{{2, 5, 7, 4}, {2, 9, 0, 0}, {2, 6, 6, 0}, {2, 10, 8, 7}, {2, 4, 0, 0}, {2, 5, 5, 5}};
    sources.source.targets = Indices{{5, 7, 4, 3}, {9, 3, 0, 0}, {6, 6, 3, 0}, {10, 8, 7, 3}, {4, 3, 0, 0}, {5, 5, 5, 3}};
    sources.source.lengths = {4, 2, 3, 4, 2, 4};
    sources.rows = {0, 1, 2, 3, 4, 5};
    const Array z = tapegrad::testing::random_array({6, 3}, 741);
    bool forbidding_changed_something = false;
    for (std::size_t width : {1, 3, 5})
        for (float penalty : {0.0f, 1.0f})
            for (std::size_t no_repeat : {0, 2}) {
            CAPTURE(width);
            CAPTURE(penalty);
            CAPTURE(no_repeat);
            DecodeOptions batched;
            batched.method = Decoding::beam;
            batched.beam_width = width;
            batched.length_penalty = penalty;
            batched.no_repeat_ngram = no_repeat;
            batched.max_length = 9;
            batched.beam_batch = 4;  // two chunks: 4 sentences, then 2
            DecodeOptions one = batched;
            one.batch_beams = false;
            const auto a = decode(translator, z, batched, sources), r = decode(translator, z, one, sources);
            REQUIRE(a.size() == 6);
            CHECK(std::any_of(a.begin(), a.end(), [](const auto& s) { return !s.empty(); }));
            CHECK(a == r);
            CHECK(decode(sentence_vae, z, batched) == decode(sentence_vae, z, one));
            if (no_repeat > 0) {
                DecodeOptions free = batched;
                free.no_repeat_ngram = 0;
                forbidding_changed_something = forbidding_changed_something || decode(sentence_vae, z, free) != decode(sentence_vae, z, batched);
            }
            }
    CHECK(forbidding_changed_something);  // so the searches above were held together on forbidden tokens too
}

namespace {

// Whether some n-gram occurs twice in s.
bool repeats_an_ngram(const std::vector<std::int64_t>& s, std::size_t n) {
    std::set<std::vector<std::int64_t>> seen;
    for (std::size_t i = 0; i + n <= s.size(); ++i)
        if (!seen.insert(std::vector<std::int64_t>(s.begin() + static_cast<std::ptrdiff_t>(i),
                                                   s.begin() + static_cast<std::ptrdiff_t>(i + n))).second)
            return true;
    return false;
}

}  // namespace

TEST_CASE("decode: the tokens that would repeat an n-gram, by hand") {
    using V = std::vector<std::int64_t>;
    CHECK(repeated_ngram_tokens({5, 6, 5}, 0).empty());
    CHECK(repeated_ngram_tokens({5, 6, 5}, 1) == V{5, 6, 5});  // every token used
    CHECK(repeated_ngram_tokens({5, 6, 5}, 2) == V{6});        // "5 6" is taken, so 6 may not follow 5 again
    CHECK(repeated_ngram_tokens({5, 5}, 2) == V{5});
    CHECK(repeated_ngram_tokens({5}, 2).empty());               // no earlier bigram
    CHECK(repeated_ngram_tokens({4, 7, 9, 4, 7}, 3) == V{9});
    CHECK(repeated_ngram_tokens({4, 7, 9, 4, 8}, 3).empty());
    CHECK(repeated_ngram_tokens({4, 7, 9, 4, 7, 1, 4, 7}, 3) == V{9, 1});
    CHECK(repeated_ngram_tokens({1, 2, 1, 2, 1}, 2) == V{2, 2});  // once per earlier occurrence
}

TEST_CASE("decode: with no_repeat_ngram no output repeats an n-gram, whatever the method") {
    autograd::manual_seed(75);
    SentenceVAE m(tiny_sentence_vae());
    const Array z = tapegrad::testing::random_array({8, 3}, 751);
    for (Decoding method : {Decoding::greedy, Decoding::sample, Decoding::beam})
        for (std::size_t n : {1, 2, 3}) {
            CAPTURE(static_cast<int>(method));
            CAPTURE(n);
            DecodeOptions o;
            o.max_length = 30;
            o.method = method;
            o.temperature = 0.1f;  // sampling close to greedy, which loops
            // Untrained, the decoder repeats itself: the option has something to forbid.
            const auto free = decode(m, z, o);
            CHECK(std::any_of(free.begin(), free.end(), [&](const auto& s) { return repeats_an_ngram(s, n); }));
            o.no_repeat_ngram = n;
            const auto out = decode(m, z, o);
            REQUIRE(out.size() == 8);
            for (const auto& s : out) CHECK_FALSE(repeats_an_ngram(s, n));
            CHECK(std::any_of(out.begin(), out.end(), [](const auto& s) { return !s.empty(); }));
        }
}
