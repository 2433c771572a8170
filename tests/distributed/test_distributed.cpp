// Data-parallel training (nn/distributed.hpp), run as `mpirun -np N test_distributed`
// (CI runs N = 2 and 3; alone it runs as one rank): N ranks training from the same
// seed end with the parameters of one process with the whole batch, for every
// model, with dropout, word dropout, free bits, dynamic binarisation and an
// epoch's last batch smaller than the number of ranks; a run checkpointed on N
// ranks resumes on fewer; the gradient buckets sum what each rank holds.
//
// Every rank trains the one-process run itself (no messages), then the N-rank run,
// and compares the two.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "models/data/parallel.hpp"
#include "models/vae/conditional_vae.hpp"
#include "models/vae/image_vae.hpp"
#include "models/vae/sentence_vae.hpp"
#include "models/vae/train.hpp"
#include "models/vae/transformer_vae.hpp"
#include "models/vae/translator.hpp"
#include "nn/distributed.hpp"
#include "nn/nn.hpp"
#include "tests/support/toy_corpus.hpp"

using namespace tapegrad;
using namespace tapegrad::models;
using namespace tapegrad::models::vae;
using autograd::Tensor;
namespace distributed = tapegrad::nn::distributed;
namespace fs = std::filesystem;
using tapegrad::testing::toy_corpus;

namespace {

// 37 examples in batches of 4: an epoch is 9 batches of 4 and one of 1, which
// leaves ranks without rows.
constexpr std::size_t examples = 37, batch = 4;

TrainOptions options(long steps) {
    TrainOptions o;
    o.epochs = 3;
    o.max_steps = steps;
    o.batch_size = batch;
    o.lr = 3e-3f;
    o.progress = false;
    o.validate = false;
    o.log_every = 0;
    o.checkpoint_every = 0;
    o.seed = 5;
    o.kl.kind = KLSchedule::Kind::linear;
    o.kl.warmup = 4;
    return o;
}

Array filled(const Shape& shape, float v) {
    Array a = Array::from_shape(shape);
    a.fill(v);
    return a;
}

// The key projection's bias in attention shifts every score of a query alike, so
// softmax cancels it: its gradient is zero in exact arithmetic, and in floats it is
// rounding noise, of another sign for another order of sums. Adam scales any
// gradient to a step of about lr, so these entries take steps of +-lr either way
// and are not compared (they are in_proj_bias[E, 2E), of [q; k; v] biases).
bool key_bias(const std::string& name, std::size_t k, std::size_t size) {
    return name.ends_with("in_proj_bias") && k >= size / 3 && k < 2 * size / 3;
}

// The largest difference between two models' parameters, relative to 1e-3 + |p|.
double max_difference(LatentVariableModel& a, LatentVariableModel& b) {
    double worst = 0.0;
    const auto pa = a.named_parameters(), pb = b.named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        const Array& x = pa[i].second.value();
        const Array& y = pb[i].second.value();
        REQUIRE(x.shape() == y.shape());
        for (std::size_t k = 0; k < x.size(); ++k)
            if (!key_bias(pa[i].first, k, x.size()))
                worst = std::max(worst, std::abs(double(x.data()[k]) - y.data()[k]) / (1e-3 + std::abs(double(x.data()[k]))));
    }
    return worst;
}

// Float sums in another order: the whole batch's gradient is one sum in one
// process and a sum of the ranks' partial sums here, so they differ in the last
// bits (relative ~1e-7), and Adam's steps carry that on. Over 10 steps the
// parameters stay within 1e-4 of each other (relative to 1e-3 + |p|; measured: at
// most 5e-6 with 2 and 3 ranks); a wrong row, a draw for the wrong example or a
// missed bucket moves them by far more (lr is 3e-3 a step; such mistakes gave 0.3
// to 20 while this test was written).
constexpr double tolerance = 1e-4;

template <class Make>
void check_same_as_one_process(const char* what, Make make, const data::Dataset& set, float free_bits = 0.0f) {
    distributed::Communicator& world = distributed::world();
    TrainOptions o = options(10);
    o.free_bits = free_bits;
    autograd::manual_seed(1);
    auto alone = make();
    train(*alone, set, nullptr, {what, {}}, o);
    autograd::manual_seed(1);
    auto together = make();
    o.group = &world;
    train(*together, set, nullptr, {what, {}}, o);
    INFO(std::string(what) << " on " << world.size() << " ranks");
    CHECK(max_difference(*alone, *together) <= tolerance);
}

struct Toy {
    data::Vocabulary vocab;
    std::vector<data::Tokens> corpus = toy_corpus(examples, 3);
    Toy() { vocab = data::Vocabulary::build(corpus, 1); }
    data::SentenceDataset sentences() const { return data::SentenceDataset(corpus, vocab, 12); }
    // A small sentence VAE with both dropouts on.
    SentenceVAEConfig text_config() const {
        SentenceVAEConfig c;
        c.vocab = vocab.size();
        c.embed = 6;
        c.hidden = 7;
        c.latent = 3;
        c.embedding_dropout = 0.3f;
        c.word_dropout = 0.25f;
        return c;
    }
};

}  // namespace

TEST_CASE("GradientReducer: every rank ends with the sum of the ranks' gradients, in buckets started during the sweep") {
    distributed::Communicator& world = distributed::world();
    const int r = world.rank(), n = world.size();
    Tensor a(filled({4}, 0.0f), true), b(filled({3, 2}, 0.0f), true), c(filled({5}, 0.0f), true),
        unused(filled({2}, 0.0f), true), first_only(filled({2}, 0.0f), true);
    // Buckets of 16 bytes: a parameter or two each, so several are started in the
    // sweep. They start in reverse order of registration (c's first), and only in
    // order: the bucket of a parameter without a gradient waits for finish_step().
    distributed::GradientReducer reducer({unused, first_only, a, b, c}, world, 16);
    CHECK(reducer.buckets() >= 3);
    for (int step = 0; step < 2; ++step) {  // twice: begin_step() resets the buckets
        reducer.begin_step();
        const float k = static_cast<float>(r + 1 + step);
        Tensor loss = autograd::sum(a * k) + autograd::sum(b * (2 * k)) + autograd::sum(c * (3 * k));
        if (r == 0) loss = loss + autograd::sum(first_only * k);
        loss.backward();
        CHECK(reducer.started_in_sweep() >= 1);
        reducer.finish_step();
        // sum over ranks of (r + 1 + step) = n (n + 1) / 2 + n step
        const float total = static_cast<float>(n * (n + 1) / 2 + n * step);
        CHECK(a.grad() == filled({4}, total));
        CHECK(b.grad() == filled({3, 2}, 2 * total));
        CHECK(c.grad() == filled({5}, 3 * total));
        CHECK_FALSE(unused.has_grad());  // no rank had one: none, as in one process
        CHECK(first_only.grad() == filled({2}, static_cast<float>(1 + step)));
        for (Tensor* t : {&a, &b, &c, &first_only}) t->zero_grad();
    }
}

TEST_CASE("row_range: contiguous shares in rank order, differing by at most one row") {
    for (std::size_t rows : {1u, 4u, 7u, 64u})
        for (int n = 1; n <= 4; ++n) {
            std::size_t next = 0;
            for (int r = 0; r < n; ++r) {
                const auto range = distributed::row_range(rows, r, n);
                CHECK(range.begin == next);
                CHECK(range.size() + 1 >= rows / n);
                CHECK(range.size() <= rows / n + 1);
                next = range.end;
            }
            CHECK(next == rows);
            CHECK(distributed::row_range(rows, n - 1, n).size() > 0);  // the last rank always has rows
        }
    CHECK_THROWS_WITH_AS(distributed::row_range(4, 2, 2), doctest::Contains("rank 2 of a group of 2"), Error);
}

TEST_CASE("the sentence VAE on N ranks: the parameters of one process (GRU, dropouts, free bits)") {
    const Toy toy;
    const data::TextDataset set(toy.sentences(), true);
    const SentenceVAEConfig c = toy.text_config();
    check_same_as_one_process("text", [&] { return std::make_unique<SentenceVAE>(c); }, set);
    check_same_as_one_process("text, free bits", [&] { return std::make_unique<SentenceVAE>(c); }, set, 0.2f);
}

TEST_CASE("the image VAEs on N ranks: the parameters of one process (dynamic binarisation, class labels)") {
    data::ImageSet images;
    images.count = examples;
    images.rows = 3;
    images.cols = 4;
    autograd::Generator g(4);
    for (std::size_t i = 0; i < examples * 12; ++i) images.pixels.push_back(static_cast<std::uint8_t>(g.below(256)));
    for (std::size_t i = 0; i < examples; ++i) images.labels.push_back(static_cast<std::uint8_t>(g.below(3)));
    const data::ImageDataset set(images, data::Binarize::dynamic);
    ImageVAEConfig c;
    c.input = 12;
    c.hidden = 8;
    c.latent = 3;
    check_same_as_one_process("image", [&] { return std::make_unique<ImageVAE>(c); }, set);
    ConditionalVAEConfig cc;
    cc.input = 12;
    cc.classes = 3;
    cc.hidden = 8;
    cc.latent = 3;
    check_same_as_one_process("conditional", [&] { return std::make_unique<ConditionalVAE>(cc); }, set);
}

TEST_CASE("the Transformer VAE on N ranks: the parameters of one process (attention dropout, word dropout)") {
    const Toy toy;
    const data::TextDataset set(toy.sentences(), false);
    TransformerVAEConfig c;
    c.vocab = toy.vocab.size();
    c.d_model = 8;
    c.heads = 2;
    c.ff = 16;
    c.layers = 1;
    c.latent = 3;
    c.max_positions = 16;
    c.dropout = 0.2f;
    c.word_dropout = 0.2f;
    check_same_as_one_process("transformer", [&] { return std::make_unique<TransformerVAE>(c); }, set);
}

TEST_CASE("the translation models on N ranks: the parameters of one process (VNMT and the attention model, dropout)") {
    const Toy toy;
    std::vector<data::Tokens> reversed = toy.corpus;
    for (auto& s : reversed) std::reverse(s.begin(), s.end());
    const data::ParallelDataset set(data::SentenceDataset(reversed, toy.vocab, 12), toy.sentences(), true);
    TranslatorConfig c;
    c.source_vocab = c.target_vocab = toy.vocab.size();
    c.embed = 6;
    c.hidden = 5;
    c.latent = 3;
    c.variational = true;
    check_same_as_one_process("vnmt", [&] { return std::make_unique<Translator>(c); }, set);
    c.variational = false;
    check_same_as_one_process("attention model", [&] { return std::make_unique<Translator>(c); }, set);
}

TEST_CASE("a run checkpointed on N ranks resumes on fewer with the numbers of one uninterrupted process") {
    distributed::Communicator& world = distributed::world();
    const Toy toy;
    const data::TextDataset set(toy.sentences(), true);
    const SentenceVAEConfig c = toy.text_config();
    const RunRecord record{"text", to_json(c)};
    // One folder for all ranks, named by rank 0.
    std::string dir = (fs::temp_directory_path() / ("tapegrad-distributed-" + std::to_string(::getpid()))).string();
    world.broadcast(dir, 0);
    TrainOptions o = options(13);
    autograd::manual_seed(1);
    SentenceVAE alone(c);
    train(alone, set, nullptr, record, o);

    o.run_dir = dir;
    o.overwrite = true;
    o.max_steps = 6;  // stops mid-epoch with a checkpoint
    o.group = &world;
    autograd::manual_seed(1);
    SentenceVAE first(c);
    train(first, set, nullptr, record, o);
    // The rest on N - 1 ranks (one rank when N is 1 or 2).
    const int fewer = std::max(1, world.size() - 1);
    std::unique_ptr<distributed::Communicator> part = world.split(world.rank() < fewer ? 0 : -1);
    if (part) {
        o.max_steps = 13;
        o.resume = true;
        o.overwrite = false;
        o.group = part.get();
        autograd::manual_seed(99);  // the checkpoint's weights and random state replace these
        SentenceVAE resumed(c);
        train(resumed, set, nullptr, record, o);
        INFO("resumed on " << part->size() << " of " << world.size() << " ranks");
        CHECK(max_difference(alone, resumed) <= tolerance);
    }
    std::string done = "done";
    world.broadcast(done, 0);  // every rank is past the folder before rank 0 removes it
    if (world.root()) fs::remove_all(dir);
}

int main(int argc, char** argv) {
    distributed::Environment mpi(argc, argv);
    distributed::Communicator& world = distributed::world();
    if (world.size() > 1) autograd::set_num_threads(1);  // ranks share the cores
    doctest::Context context(argc, argv);
    // Rank 0 reports; the others' counts are the same test cases.
    if (!world.root()) std::freopen("/dev/null", "w", stdout);
    int failed = context.run();
    // A failure on any rank fails the run.
    double any = failed ? 1.0 : 0.0;
    world.sum(&any, 1);
    if (world.root() && any > 0 && !failed) std::printf("a rank other than 0 failed (run it alone to see)\n");
    return any > 0 ? 1 : 0;
}
