// The VAEs on tiny configurations: KL schedules, the ELBO, finite-difference
// gradient checks through whole models, overfitting one batch, a short training
// run, resume-equals-uninterrupted, the estimators, and generation.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "models/vae/annealing.hpp"
#include "models/vae/evaluate.hpp"
#include "models/vae/generate.hpp"
#include "models/vae/image_vae.hpp"
#include "models/vae/sentence_vae.hpp"
#include "models/vae/train.hpp"
#include "nn/nn.hpp"
#include "tests/support/check.hpp"
#include "tests/support/toy_corpus.hpp"

using namespace tapegrad;
using namespace tapegrad::models;
using namespace tapegrad::models::vae;
using autograd::Tensor;
using tapegrad::testing::check_module_gradients;
using tapegrad::testing::random_array;
using tapegrad::testing::toy_corpus;
namespace fs = std::filesystem;

namespace {

struct ToyText {
    data::Vocabulary vocab;
    data::TextDataset set;
    explicit ToyText(std::size_t n = 40, std::uint64_t seed = 1) : set(data::SentenceDataset()) {
        const auto c = toy_corpus(n, seed);
        vocab = data::Vocabulary::build(c, 1);
        set.sentences = data::SentenceDataset(c, vocab, 12);
    }
};

// An image batch of given pixels.
data::Batch images(const Array& x) {
    data::Batch b;
    b.x = Tensor(x);
    b.rows.resize(x.shape()[0]);
    return b;
}

SentenceVAEConfig tiny_text(std::size_t vocab, Cell cell = Cell::gru) {
    SentenceVAEConfig c;
    c.vocab = vocab;
    c.embed = 6;
    c.hidden = 7;
    c.latent = 3;
    c.cell = cell;
    c.embedding_dropout = 0.2f;
    c.word_dropout = 0.2f;
    return c;
}

ImageVAEConfig tiny_image() {
    ImageVAEConfig c;
    c.input = 12;
    c.hidden = 8;
    c.latent = 3;
    return c;
}

std::vector<std::size_t> first(std::size_t n) {
    std::vector<std::size_t> r(n);
    for (std::size_t i = 0; i < n; ++i) r[i] = i;
    return r;
}

fs::path scratch(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("tapegrad_vae_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

// One quiet epoch of batches of 8 into the scratch run folder `name`.
TrainOptions one_epoch(const std::string& name) {
    TrainOptions o;
    o.epochs = 1;
    o.batch_size = 8;
    o.progress = false;
    o.run_dir = scratch(name).string();
    return o;
}

}  // namespace

TEST_CASE("KLSchedule: constant, linear, logistic and cyclical weights") {
    KLSchedule s;
    s.kind = KLSchedule::Kind::logistic;
    CHECK(s.at(2500) == doctest::Approx(0.5f));
    CHECK(s.at(0) == doctest::Approx(1.0f / (1.0f + std::exp(6.25f))));
    CHECK(s.at(100000) == doctest::Approx(1.0f));
    s.kind = KLSchedule::Kind::linear;
    s.warmup = 100;
    CHECK(s.at(25) == doctest::Approx(0.25f));
    CHECK(s.at(1000) == 1.0f);
    s.kind = KLSchedule::Kind::cyclical;
    s.cycle = 100;
    s.ratio = 0.5f;
    CHECK(s.at(25) == doctest::Approx(0.5f));
    CHECK(s.at(60) == 1.0f);
    CHECK(s.at(110) == doctest::Approx(0.2f));
    s.kind = KLSchedule::Kind::constant;
    s.weight = 0.3f;
    CHECK(s.at(5) == 0.3f);
    CHECK_THROWS_WITH_AS(parse_schedule("cosine"), doctest::Contains("unknown KL schedule 'cosine'"), Error);
}

TEST_CASE("elbo: (recon + beta KL) / B with each part reported; free bits floor each dimension") {
    const Tensor mu(array({0, 1, 0, 0}, {2, 2}), true), logvar(zeros({2, 2}), true);
    const nn::dist::Normal q = nn::dist::Normal::from_logvar(mu, logvar), p = nn::dist::Normal::standard({2, 2});
    const Tensor recon(Array(10.0f));
    const ELBO e = elbo(recon, q, p, 0.5f);
    CHECK(e.kl.item() == doctest::Approx(0.5f));  // only mu = 1 contributes 1/2
    CHECK(e.loss.item() == doctest::Approx((10.0f + 0.5f * 0.5f) / 2));
    CHECK(e.neg_elbo_per_example() == doctest::Approx(5.25));
    // Free bits 0.3: dimension 0 has mean KL 0.25 -> 0.3 (no gradient), dimension 1 has 0 -> 0.3.
    const ELBO f = elbo(recon, q, p, 1.0f, 0.3f);
    CHECK(f.loss.item() == doctest::Approx((10.0f + 2 * (0.3f + 0.3f)) / 2));
    f.loss.backward();
    CHECK_ARRAY_EQ(mu.grad(), zeros({2, 2}));
    // Free bits 0.2: the dimension with mean KL 0.25 is above the floor and counts in
    // full, with its gradient mu / B; the other counts 0.2 per example, with none.
    const Tensor mu2(array({0, 1, 0, 0}, {2, 2}), true), logvar2(zeros({2, 2}), true);
    const ELBO g = elbo(recon, nn::dist::Normal::from_logvar(mu2, logvar2), p, 1.0f, 0.2f);
    CHECK(g.loss.item() == doctest::Approx((10.0f + 0.5f + 2 * 0.2f) / 2));
    g.loss.backward();
    CHECK_ARRAY_EQ(mu2.grad(), array({0, 0.5f, 0, 0}, {2, 2}));
}

TEST_CASE("ImageVAE: gradients of the whole -ELBO by finite differences (Bernoulli and Gaussian)") {
    for (auto lk : {Likelihood::bernoulli, Likelihood::gaussian}) {
        autograd::manual_seed(10);
        ImageVAEConfig c = tiny_image();
        c.likelihood = lk;
        ImageVAE vae(c);
        const data::Batch x = images(random_array({4, 12}, 300, 0.0f, 1.0f));
        check_module_gradients(vae, [&] {
            autograd::SeedScope same_noise(7);
            return vae.loss(x, 0.7f).loss;
        }, {.h = 3e-3, .rtol = 1e-2, .atol = 3e-3});
    }
}

TEST_CASE("SentenceVAE: gradients of the whole -ELBO by finite differences (GRU and LSTM, dropouts on)") {
    ToyText toy(12);
    const data::Batch b = toy.set.batch(first(5));
    for (Cell cell : {Cell::gru, Cell::lstm}) {
        autograd::manual_seed(11);
        SentenceVAE vae(tiny_text(toy.vocab.size(), cell));
        check_module_gradients(vae, [&] {
            autograd::SeedScope same_noise(8);
            return vae.loss(b, 0.7f).loss;
        }, {.h = 3e-3, .rtol = 1e-2, .atol = 3e-3}, 4);
    }
}

TEST_CASE("SentenceVAE: parameter names follow the model's structure") {
    SentenceVAE vae(tiny_text(20));
    std::vector<std::string> names;
    for (auto& [n, t] : vae.named_parameters()) names.push_back(n);
    CHECK(names.front() == "embedding.weight");
    CHECK(names[1] == "encoder.weight_ih_l0");
    CHECK(vae.parameter("to_vocab.weight").shape() == Shape{20, 7});
    CHECK(vae.parameter("to_hidden.weight").shape() == Shape{7, 3});
}

TEST_CASE("SentenceVAE: token NLLs sum to the total, and padding changes nothing") {
    ToyText toy(8);
    autograd::manual_seed(12);
    SentenceVAE vae(tiny_text(toy.vocab.size()));
    vae.eval();
    autograd::NoGradGuard no_grad;
    const data::Batch batch = toy.set.batch(first(6));
    const data::TextBatch& b = batch.text;
    const Tensor z(random_array({6, 3}, 301));
    const Array tokens = vae.token_nll(b, z).value();
    CHECK(tokens.size() == b.tokens());
    CHECK(xt::sum(tokens)() == doctest::Approx(vae.total_neg_log_likelihood(batch, z).item()).epsilon(1e-5));
    // Per sentence: the sums of each sentence's tokens.
    const Array per_sentence = vae.neg_log_likelihood(batch, z).value();
    CHECK(per_sentence.size() == 6);
    CHECK(xt::sum(per_sentence)() == doctest::Approx(xt::sum(tokens)()).epsilon(1e-5));
    double first_sentence = 0;
    for (std::size_t k = 0; k < b.lengths[0]; ++k) first_sentence += tokens(k);
    CHECK(per_sentence(0) == doctest::Approx(first_sentence).epsilon(1e-5));
    // The same sentence alone (no padding) gets the same per-token NLL.
    const data::TextBatch one = toy.set.batch({0}).text;
    const Array alone = vae.token_nll(one, Tensor(Array(xt::view(z.value(), xt::range(0, 1), xt::all())))).value();
    for (std::size_t k = 0; k < alone.size(); ++k) CHECK(alone(k) == doctest::Approx(tokens(k)).epsilon(1e-5));
}

TEST_CASE("SentenceVAE: a tiny model overfits one batch") {
    ToyText toy(8);
    autograd::manual_seed(13);
    SentenceVAEConfig c = tiny_text(toy.vocab.size());
    c.embedding_dropout = 0.0f;
    c.word_dropout = 0.0f;
    c.hidden = 24;
    SentenceVAE vae(c);
    nn::Adam adam(vae.parameters(), {.lr = 3e-2f});
    const data::Batch b = toy.set.batch(first(8));
    const float start = vae.loss(b, 0.0f).recon_per_example();
    autograd::Tape::current().clear();
    for (int i = 0; i < 250; ++i) {
        const ELBO e = vae.loss(b, 0.01f);
        adam.zero_grad();
        e.loss.backward();
        adam.step();
    }
    const double end = vae.loss(b, 0.01f).recon_per_example();
    autograd::Tape::current().clear();
    CAPTURE(start);
    CAPTURE(end);
    CHECK(end < 0.05 * start);
}

TEST_CASE("ImageVAE: a tiny model overfits one batch; the autoencoder baseline has no KL") {
    for (bool variational : {true, false}) {
        autograd::manual_seed(14);
        ImageVAEConfig c = tiny_image();
        c.hidden = 32;
        c.variational = variational;
        ImageVAE vae(c);
        nn::Adam adam(vae.parameters(), {.lr = 1e-2f});
        Array xb = random_array({8, 12}, 302, 0.0f, 1.0f);
        xb = xt::where(xb > 0.5f, 1.0f, 0.0f);  // binary pixels: the likelihood can go to 0
        const data::Batch x = images(xb);
        const double start = vae.loss(x, 0.0f).recon_per_example();
        autograd::Tape::current().clear();
        for (int i = 0; i < 400; ++i) {
            const ELBO e = vae.loss(x, variational ? 0.01f : 0.0f);
            adam.zero_grad();
            e.loss.backward();
            adam.step();
        }
        const ELBO e = vae.loss(x, 0.01f);
        CAPTURE(start);
        CHECK(e.recon_per_example() < 0.2 * start);
        if (!variational) CHECK(e.kl.item() == 0.0f);
        autograd::Tape::current().clear();
    }
}

TEST_CASE("train: a short run lowers the loss, writes metrics and a checkpoint") {
    ToyText toy(64);
    autograd::manual_seed(15);
    SentenceVAE vae(tiny_text(toy.vocab.size()));
    TrainOptions o;
    o.epochs = 4;
    o.batch_size = 8;
    o.lr = 1e-2f;
    o.kl.kind = KLSchedule::Kind::linear;
    o.kl.warmup = 20;
    o.log_every = 4;
    o.progress = false;
    o.run_dir = scratch("short").string();
    nlohmann::json config = vae.config_json();
    config["data"] = {{"vocabulary", toy.vocab.words()}};
    const TrainResult r = train(vae, toy.set, &toy.set, {"text", config}, o);
    CHECK(r.steps == 32);
    REQUIRE(r.history.size() == 4);
    const double first_loss = r.history[0]["train"]["neg_elbo"], last_loss = r.history[3]["train"]["neg_elbo"];
    CHECK(last_loss < 0.8 * first_loss);
    CHECK(r.history[3].contains("valid"));
    CHECK(fs::exists(fs::path(o.run_dir) / "checkpoint.npz"));
    std::ifstream metrics(fs::path(o.run_dir) / "metrics.jsonl");
    std::size_t lines = 0;
    for (std::string l; std::getline(metrics, l);) ++lines;
    CHECK(lines == 8 + 4);  // a step line every 4 steps, an epoch line per epoch
    const auto meta = read_run_meta(o.run_dir);
    CHECK(meta["model"] == "text");
    CHECK(meta["config"]["data"]["vocabulary"].size() == toy.vocab.size());
}

namespace {
// A sentence VAE that calls on_step before each training step's loss.
class Counting : public SentenceVAE {
public:
    Counting(const SentenceVAEConfig& c, std::function<void(std::size_t)> f) : SentenceVAE(c), on_step(std::move(f)) {}
    ELBO loss(const data::Batch& b, float beta, float free_bits) const override {
        if (on_step) on_step(++steps);
        return SentenceVAE::loss(b, beta, free_bits);
    }
    std::function<void(std::size_t)> on_step;
    mutable std::size_t steps = 0;
};

// Trains a fresh tiny model under `o`; returns its parameters (and its history).
std::vector<Array> run_text(const ToyText& toy, TrainOptions o, std::uint64_t init_seed,
                            const std::function<void(std::size_t)>& on_step = {}, nlohmann::json* history = nullptr) {
    autograd::manual_seed(init_seed);
    Counting vae(tiny_text(toy.vocab.size()), on_step);
    if (!o.resume) o.overwrite = true;
    const TrainResult r = train(vae, toy.set, &toy.set, {"text", vae.config_json()}, o);
    if (history) *history = r.history;
    std::vector<Array> out;
    for (auto& p : vae.parameters()) out.push_back(p.value());
    return out;
}
}  // namespace

TEST_CASE("train: a resumed run gives the same numbers as an uninterrupted one (max-steps and Ctrl-C)") {
    ToyText toy(40);
    TrainOptions o;
    o.epochs = 3;
    o.batch_size = 8;
    o.lr = 1e-2f;
    o.progress = false;
    o.log_every = 0;
    o.seed = 21;
    o.run_dir = scratch("whole").string();
    nlohmann::json whole_history, resumed_history;
    const auto whole = run_text(toy, o, 100, {}, &whole_history);

    // Stopped mid-epoch by max_steps, resumed into a model initialised differently.
    TrainOptions a = o;
    a.run_dir = scratch("by_steps").string();
    a.max_steps = 7;
    run_text(toy, a, 100);
    a.max_steps = 0;
    a.resume = true;
    const auto resumed = run_text(toy, a, 999, {}, &resumed_history);
    REQUIRE(resumed.size() == whole.size());
    for (std::size_t i = 0; i < whole.size(); ++i) CHECK_ARRAY_EQ(resumed[i], whole[i]);
    // The epoch records (training averages and validation) match too, except wall time.
    REQUIRE(resumed_history.size() == whole_history.size());
    for (std::size_t e = 0; e < whole_history.size(); ++e) {
        CHECK(resumed_history[e]["train"] == whole_history[e]["train"]);
        CHECK(resumed_history[e]["valid"] == whole_history[e]["valid"]);
    }

    // Interrupted by SIGINT (as Ctrl-C) at step 12: a clean stop with a checkpoint.
    TrainOptions c = o;
    c.run_dir = scratch("by_signal").string();
    run_text(toy, c, 100, [](std::size_t step) {
        if (step == 12) std::raise(SIGINT);
    });
    CHECK(read_run_meta(c.run_dir)["train"]["step"] == 12);
    c.resume = true;
    const auto after_signal = run_text(toy, c, 999);
    for (std::size_t i = 0; i < whole.size(); ++i) CHECK_ARRAY_EQ(after_signal[i], whole[i]);
}

TEST_CASE("train: resuming a run of another model is refused") {
    ToyText toy(16);
    TrainOptions o = one_epoch("kinds");
    run_text(toy, o, 1);
    autograd::manual_seed(1);
    ImageVAE img(tiny_image());
    data::ImageSet set;
    set.count = 4;
    set.rows = 3;
    set.cols = 4;
    set.pixels.assign(48, 100);
    const data::ImageDataset images_set(set);
    o.resume = true;
    CHECK_THROWS_WITH_AS(train(img, images_set, nullptr, {"image", img.config_json()}, o),
                         doctest::Contains("holds a run of model 'text', not of 'image'"), Error);
}

TEST_CASE("train: resuming from a metadata record that lacks a field or holds the wrong kind of value is refused") {
    ToyText toy(16);
    TrainOptions o = one_epoch("damaged_meta");
    run_text(toy, o, 1);
    const std::string path = (fs::path(o.run_dir) / "checkpoint.npz").string();
    const auto good = nn::read_npz(path);
    o.resume = true;
    auto resume_with = [&](const std::string& meta) {
        auto entries = good;
        for (auto& [name, bytes] : entries)
            if (name == "meta") bytes = nn::npy_bytes(meta);
        nn::write_npz(path, entries);
        autograd::manual_seed(1);
        SentenceVAE vae(tiny_text(toy.vocab.size()));
        train(vae, toy.set, &toy.set, {"text", vae.config_json()}, o);
    };
    const std::string refused = path + ": the metadata record does not describe a run to resume";
    CHECK_THROWS_WITH_AS(resume_with(R"({"model": "text"})"), doctest::Contains(refused.c_str()), Error);
    CHECK_THROWS_WITH_AS(resume_with(R"({"model": "text", "train": {"step": "x"}})"), doctest::Contains(refused.c_str()), Error);
    CHECK_THROWS_WITH_AS(resume_with("[1, 2]"), doctest::Contains(refused.c_str()), Error);
    CHECK_THROWS_WITH_AS(resume_with(R"({"model": "text", "train": {"step": -1, "epoch": 0, "batch": 0, "rng": ""}})"),
                         (path + ": the metadata record has a negative step, epoch or batch").c_str(), Error);
}

TEST_CASE("mutual_information and active units: 0 when q ignores x, log N when q tells examples apart") {
    const std::size_t N = 50;
    const Array mu0 = zeros({N, 2}), lv0 = zeros({N, 2});
    CHECK(std::abs(mutual_information(mu0, lv0, 1)) < 0.05);
    CHECK(posterior_mean_variances(mu0)[0] == 0.0);
    Array mu = zeros({N, 2}), lv = full({N, 2}, -8.0f);
    for (std::size_t i = 0; i < N; ++i) mu(i, 0) = 10.0f * i;
    // One z sample per example: the estimate carries a little sampling noise.
    CHECK(mutual_information(mu, lv, 1) == doctest::Approx(std::log(50.0)).epsilon(0.02));
    const auto v = posterior_mean_variances(mu);
    CHECK(v[0] > 0.01);
    CHECK(v[1] == 0.0);
}

TEST_CASE("evaluation: the IW estimate is at most the 1-sample -ELBO, perplexity follows its definition") {
    ToyText toy(30);
    autograd::manual_seed(16);
    SentenceVAE vae(tiny_text(toy.vocab.size()));
    const Metrics m = evaluate(vae, toy.set, 8);
    CHECK(m.examples == 30);
    CHECK(m.items == toy.set.sentences.tokens());
    CHECK(m.ppl_elbo() == doctest::Approx(std::exp((m.nll + m.kl) * 30 / m.items)));
    CHECK(evaluate(vae, toy.set, 8).nll == m.nll);  // seeded: evaluation is repeatable
    const ImportanceWeighted iw = importance_weighted_nll(vae, toy.set, 10, 50);
    CHECK(iw.examples == 10);
    CHECK(iw.nll <= iw.neg_elbo_1sample + 0.5);
    CHECK(iw.nll > 0.0);
    const LatentMetrics lm = latent_metrics(vae, toy.set);
    CHECK(lm.latent == 3);
    CHECK(lm.variances.size() == 3);
}

TEST_CASE("generation: greedy, low-temperature sampling and width-1 beam agree; lengths are bounded") {
    ToyText toy(8);
    autograd::manual_seed(17);
    SentenceVAE vae(tiny_text(toy.vocab.size()));
    const Array z = random_array({3, 3}, 303);
    DecodeOptions greedy;
    greedy.max_length = 9;
    const auto g = decode(vae, z, greedy);
    REQUIRE(g.size() == 3);
    for (const auto& s : g) {
        CHECK(s.size() <= 9);
        CHECK(std::find(s.begin(), s.end(), data::Vocabulary::eos) == s.end());
    }
    DecodeOptions cold = greedy;
    cold.method = Decoding::sample;
    cold.temperature = 1e-4f;
    CHECK(decode(vae, z, cold) == g);
    DecodeOptions beam1 = greedy;
    beam1.method = Decoding::beam;
    beam1.beam_width = 1;
    beam1.length_penalty = 0.0f;
    CHECK(decode(vae, z, beam1) == g);
    DecodeOptions beam5 = beam1;
    beam5.beam_width = 5;
    CHECK(decode(vae, z, beam5).size() == 3);
    CHECK_THROWS_WITH_AS(decode(vae, zeros({2, 4}), greedy), doctest::Contains("z must be [B, 3]"), Error);
}

TEST_CASE("interpolate, normal_quantile and PNG grids") {
    const Array a = array({0, 0}), b = array({1, 2});
    const Array line = interpolate(a, b, 5);
    CHECK_ARRAY_EQ(Array(xt::view(line, 0, xt::all())), a);
    CHECK_ARRAY_EQ(Array(xt::view(line, 4, xt::all())), b);
    CHECK_CLOSE(Array(xt::view(line, 2, xt::all())), array({0.5f, 1.0f}), 1e-6, 1e-7);
    CHECK(normal_quantile(0.975) == doctest::Approx(1.959964).epsilon(1e-5));
    CHECK(normal_quantile(0.5) == doctest::Approx(0.0).scale(1.0));
    const fs::path png = scratch("grid.png");
    save_image_grid(png.string(), random_array({6, 12}, 304, 0.0f, 1.0f), 3, 4, 3);
    std::ifstream f(png, std::ios::binary);
    char sig[8];
    f.read(sig, 8);
    CHECK(std::string(sig + 1, 3) == "PNG");
    CHECK_THROWS_WITH_AS(save_image_grid(png.string(), zeros({2, 5}), 3, 4, 2), doctest::Contains("images must be [N, 12]"), Error);
}

TEST_CASE("latent_manifold: a grid of decoded means for a 2-D latent space, refused otherwise") {
    autograd::manual_seed(18);
    ImageVAEConfig c = tiny_image();
    c.latent = 2;
    ImageVAE two(c);
    const Array grid = latent_manifold(two, 4);
    CHECK(grid.shape() == Shape{16, 12});
    CHECK(xt::amin(grid)() >= 0.0f);
    CHECK(xt::amax(grid)() <= 1.0f);
    ImageVAE three(tiny_image());
    CHECK_THROWS_WITH_AS(latent_manifold(three, 4), doctest::Contains("needs a 2-D latent space, the model has 3"), Error);
}

TEST_CASE("train: a run that diverges keeps its last good checkpoint and says where it is") {
    ToyText toy(16);
    TrainOptions o = one_epoch("diverge");
    o.validate = false;
    run_text(toy, o, 1);
    const fs::path ckpt = fs::path(o.run_dir) / "checkpoint.npz";
    std::ifstream before_file(ckpt, std::ios::binary);
    const std::string before((std::istreambuf_iterator<char>(before_file)), {});
    TrainOptions wild = o;
    wild.resume = true;
    wild.epochs = 3;
    wild.lr = 1e30f;  // the first update sends the weights to infinity
    CHECK_THROWS_WITH_AS(run_text(toy, wild, 1), doctest::Contains("the last good checkpoint"), Error);
    std::ifstream after_file(ckpt, std::ios::binary);
    const std::string after((std::istreambuf_iterator<char>(after_file)), {});
    CHECK(after == before);
    // With anomaly detection, the message names an op.
    wild.detect_anomaly = true;
    CHECK_THROWS_WITH_AS(run_text(toy, wild, 1), doctest::Contains("anomaly: "), Error);
}

TEST_CASE("train: checkpoints within an epoch every N steps bound what a kill loses") {
    ToyText toy(40);
    TrainOptions o;
    o.epochs = 1;
    o.batch_size = 4;  // 10 steps
    o.progress = false;
    o.validate = false;
    o.checkpoint_every = 3;
    o.run_dir = scratch("every").string();
    std::vector<long> saved;
    run_text(toy, o, 1, [&](std::size_t step) {
        if (step > 1 && fs::exists(fs::path(o.run_dir) / "checkpoint.npz"))
            saved.push_back(read_run_meta(o.run_dir)["train"]["step"]);
    });
    CHECK(std::find(saved.begin(), saved.end(), 3) != saved.end());
    CHECK(std::find(saved.begin(), saved.end(), 9) != saved.end());
    CHECK(read_run_meta(o.run_dir)["train"]["step"] == 10);
}

TEST_CASE("train: a run folder another training holds is refused, naming the holder") {
    ToyText toy(16);
    TrainOptions o = one_epoch("locked");
    o.validate = false;
    fs::create_directories(o.run_dir);
    const int fd = ::open((fs::path(o.run_dir) / ".lock").c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);  // as another trainer would
    CHECK(::pwrite(fd, "4242", 4, 0) == 4);
    CHECK_THROWS_WITH_AS(run_text(toy, o, 1), doctest::Contains("is in use by another training (process 4242)"), Error);
    ::flock(fd, LOCK_UN);
    ::close(fd);
    run_text(toy, o, 1);  // free again
    CHECK(fs::exists(fs::path(o.run_dir) / "checkpoint.npz"));
}

TEST_CASE("train: resuming drops a torn last metrics line and the lines past the checkpoint") {
    ToyText toy(32);
    TrainOptions o;
    o.epochs = 2;
    o.batch_size = 8;
    o.progress = false;
    o.validate = false;
    o.log_every = 1;
    o.max_steps = 5;
    o.run_dir = scratch("torn").string();
    run_text(toy, o, 1);
    const fs::path metrics = fs::path(o.run_dir) / "metrics.jsonl";
    std::ofstream(metrics, std::ios::app) << "{\"type\":\"step\",\"step\":6,\"loss\":1}\n{\"type\":\"st";  // a kill mid-line
    TrainOptions more = o;
    more.resume = true;
    more.max_steps = 0;
    run_text(toy, more, 1);
    std::ifstream in(metrics);
    long last = 0;
    std::size_t lines = 0;
    for (std::string line; std::getline(in, line); ++lines) {
        const auto j = nlohmann::json::parse(line);  // every line is whole JSON
        if (j["type"] == "step") {
            CHECK(j["step"].get<long>() == last + 1);  // each step once, in order
            last = j["step"];
        }
    }
    CHECK(last == 8);
}
