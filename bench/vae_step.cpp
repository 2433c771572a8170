// Times training steps of the two VAEs exactly as the PyTorch reference
// (bench/reference in the shared folder) does: same architecture, batch size,
// optimiser and sequence handling; the timed region is forward + loss + backward +
// Adam step (+ reading the loss), with the batch already built; the first --warmup
// steps are excluded. Prints a JSON record (median ms/step, throughput, peak RSS,
// and the step's GEMM-only floor: its matrix products replayed alone, same run).
//   build/bench/vae_step --model text --steps 300 --threads 2 [--profile]
// Models: text, image, transformer (the three VAEs), translate, vnmt and vnmt-emb
// (the translation models on the Bible corpus, against bench/translation_reference.py;
// vnmt-emb is VNMT with --posterior embeddings).
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "autograd/autograd.hpp"
#include "autograd/kernels/blas.hpp"
#include "models/data/dataset.hpp"
#include "models/data/parallel.hpp"
#include "models/vae/annealing.hpp"
#include "models/vae/image_vae.hpp"
#include "models/vae/sentence_vae.hpp"
#include "models/vae/transformer_vae.hpp"
#include "models/vae/translator.hpp"
#include "nn/optim.hpp"

using namespace tapegrad;
using namespace tapegrad::models;
using Clock = std::chrono::steady_clock;

namespace {
double peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;  // KiB on Linux
}
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }
double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * (v.size() - 1))];
}

// The GEMM-only floor: the products one training step made (recorded by
// kernels::record_gemm_shapes), replayed in order through the same kernels, the
// pool splitting them as in the step, on buffers made once. What a step would cost
// if it were nothing but its products; the median over `reps` replays, in ms.
// The floor's steps are a sample (their batches differ from the mean one), so the
// ratio compares them with their own measured times.
double gemm_floor_ms(const std::vector<kernels::GemmShape>& shapes, int reps) {
    std::size_t a_size = 0, b_size = 0, c_size = 0;
    for (const auto& g : shapes) {
        const auto m = static_cast<std::size_t>(g.m), n = static_cast<std::size_t>(g.n), k = static_cast<std::size_t>(g.k);
        a_size = std::max(a_size, g.products * m * k);
        b_size = std::max(b_size, g.products * k * n);
        c_size = std::max(c_size, g.c_count * m * n);
    }
    std::vector<float> a(a_size, 0.01f), b(b_size, 0.02f), c(c_size, 0.0f);
    std::vector<std::size_t> ia, ic;
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        for (const auto& g : shapes) {
            if (g.products == 1) {
                kernels::sgemm(g.trans_a, g.trans_b, g.m, g.n, g.k, 1.0f, a.data(), g.trans_a ? g.m : g.k, b.data(),
                               g.trans_b ? g.k : g.n, g.accumulate ? 1.0f : 0.0f, c.data(), g.n);
                continue;
            }
            ia.resize(g.products);
            ic.resize(g.products);
            for (std::size_t i = 0; i < g.products; ++i) {
                ia[i] = i;
                ic[i] = i * g.c_count / g.products;
            }
            kernels::batched_matmul(a.data(), ia, b.data(), ia, c.data(), ic, g.c_count,
                                    {static_cast<std::size_t>(g.m), static_cast<std::size_t>(g.k),
                                     static_cast<std::size_t>(g.n), g.trans_a, g.trans_b});
        }
        times.push_back(ms_since(t0));
    }
    return quantile(times, 0.5);
}

double gemm_gflop(const std::vector<kernels::GemmShape>& shapes) {
    double flop = 0;
    for (const auto& g : shapes) flop += 2.0 * g.m * g.n * g.k * static_cast<double>(g.products);
    return flop * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"time VAE training steps as the PyTorch reference does"};
    std::string model = "text", data_dir, json_path;
    std::size_t steps = 300, warmup = 20;
    int threads = 2;
    std::uint64_t seed = 1;
    bool profile = false, print_core = false;
    std::size_t batch_size = 0, hidden = 0, embed = 300, latent = 0, max_length = 60, min_count = 2;
    app.add_option("--model", model, "text, image, transformer, translate, vnmt or vnmt-emb")
        ->check(CLI::IsMember({"text", "image", "transformer", "translate", "vnmt", "vnmt-emb"}));
    app.add_option("--batch-size", batch_size, "batch size (default 32 text, 128 image)");
    app.add_option("--hidden", hidden, "GRU / MLP hidden size (default 256 / 400)");
    app.add_option("--embed", embed, "text: embedding size")->capture_default_str();
    app.add_option("--latent", latent, "latent size (default 16 / 20)");
    app.add_option("--max-length", max_length, "text: tokens per sentence incl. <s>")->capture_default_str();
    app.add_option("--min-count", min_count, "text: occurrences a word needs to enter the vocabulary")->capture_default_str();
    app.add_option("--data", data_dir, "PTB folder (text) or Fashion-MNIST folder (image)");
    app.add_option("--steps", steps, "steps in all")->capture_default_str();
    app.add_option("--warmup", warmup, "steps excluded from the statistics")->capture_default_str();
    app.add_option("--threads", threads, "threads of tapegrad's pool (products and the passes between them)")->capture_default_str();
    app.add_option("--seed", seed, "seed")->capture_default_str();
    app.add_option("--json", json_path, "also write the record to this file");
    app.add_flag("--profile", profile, "print where a step's time goes, per op");
    app.add_flag("--blas-core", print_core, "print the OpenBLAS kernels in use (OPENBLAS_CORETYPE or its own choice) and exit");
    CLI11_PARSE(app, argc, argv);
    if (print_core) {
        std::cout << kernels::core_name() << '\n';
        return 0;
    }
    if (steps <= warmup) {
        std::cerr << "--steps must exceed --warmup\n";
        return 2;
    }
    autograd::set_num_threads(threads);
    autograd::manual_seed(seed);
    const double rss_start = peak_rss_mib();

    std::vector<double> times;
    std::vector<std::size_t> items;
    // The products of the first `floor_steps` timed steps, for the GEMM-only floor.
    const std::size_t floor_steps = std::min<std::size_t>(10, steps - warmup);
    std::vector<kernels::GemmShape> step_products;
    double update_ms[2] = {0, 0};  // transformer: clipping, and Adam's step with zero_grad, outside the tape
    std::size_t parameters = 0, vocab_size = 0;
    float last_loss = 0;
    auto timed = [&](auto&& step_fn, std::size_t n_items) {
        if (times.size() + 1 == warmup + 1 && profile) {
            autograd::Profiler::enable();
            autograd::Profiler::reset();
        }
        autograd::Profiler::mark();
        if (times.size() >= warmup && times.size() < warmup + floor_steps) kernels::record_gemm_shapes(&step_products);
        const auto t0 = Clock::now();
        last_loss = step_fn();
        times.push_back(ms_since(t0));
        kernels::record_gemm_shapes(nullptr);
        items.push_back(n_items);
    };

    try {
        if (model == "transformer") {  // the reference's defaults (transformer_vae.py)
            if (data_dir.empty()) data_dir = std::string(std::getenv("TAPEGRAD_DATA") ? std::getenv("TAPEGRAD_DATA") : "data") + "/ptb";
            data::Vocabulary vocab;
            data::TextDataset set{data::SentenceDataset()};
            {
                const auto train = data::read_sentences(data_dir + "/ptb.train.txt");
                vocab = data::Vocabulary::build(train, 1);  // the reference's --min-occ 1
                set.sentences = data::SentenceDataset(train, vocab, max_length);
            }
            kernels::release_unused_memory();
            models::vae::TransformerVAEConfig c;  // d 256, 4 heads, ff 1024, 2 + 2 layers, latent 16, dropout 0.1
            c.vocab = vocab.size();
            if (latent) c.latent = latent;
            vocab_size = vocab.size();
            models::vae::TransformerVAE vae(c);
            parameters = vae.num_parameters();
            nn::Adam adam(vae.parameters(), {.lr = 5e-4f});
            nn::LinearWarmup warm(adam, 1000);
            models::vae::KLSchedule kl;
            const auto batches = set.plan(batch_size ? batch_size : 32, true, seed);
            for (std::size_t s = 0; s < steps; ++s) {
                const data::Batch b = set.batch(batches[s % batches.size()]);
                timed([&] {  // forward, loss, backward, clipping at 1.0, Adam, as the reference's timed region
                    const auto e = vae.loss(b, kl.at(static_cast<long>(s)));
                    e.loss.backward();
                    const auto t0 = Clock::now();
                    nn::clip_grad_norm(adam.params(), 1.0f);
                    const auto t1 = Clock::now();
                    adam.step();
                    adam.zero_grad();
                    warm.step();
                    if (s >= warmup) {
                        update_ms[0] += std::chrono::duration<double, std::milli>(t1 - t0).count();
                        update_ms[1] += ms_since(t1);
                    }
                    return e.loss.item();
                }, b.text.tokens());
            }
        } else if (model == "translate" || model == "vnmt" || model == "vnmt-emb") {  // tapegrad-vae train --model translate's defaults
            if (data_dir.empty()) data_dir = "data/bible-en-es";
            data::Vocabulary source_vocab;
            std::unique_ptr<data::ParallelDataset> set;
            {
                const data::ParallelCorpus c = data::read_parallel_split(data_dir, "train");
                const auto en = data::tokenize_lines(c.source), es = data::tokenize_lines(c.target);
                source_vocab = data::Vocabulary::build(en, min_count);
                const data::Vocabulary target_vocab = data::Vocabulary::build(es, min_count);
                vocab_size = target_vocab.size();
                set = std::make_unique<data::ParallelDataset>(data::SentenceDataset(en, source_vocab, 80),
                                                              data::SentenceDataset(es, target_vocab, 80), true);
            }
            kernels::release_unused_memory();
            models::vae::TranslatorConfig c;  // embed 256, GRU 256 (x2 in the encoder), latent 64, dropout 0.2
            c.source_vocab = source_vocab.size();
            c.target_vocab = vocab_size;
            c.variational = model != "translate";
            if (model == "vnmt-emb") c.posterior = models::vae::TranslatorConfig::PosteriorInput::embeddings;
            if (hidden) c.hidden = hidden;
            if (latent) c.latent = latent;
            models::vae::Translator translator(c);
            parameters = translator.num_parameters();
            nn::Adam adam(translator.parameters(), {.lr = 1e-3f});
            models::vae::KLSchedule kl;
            kl.kind = models::vae::KLSchedule::Kind::linear;
            kl.warmup = 2000;
            const auto batches = set->plan(batch_size ? batch_size : 64, true, seed);
            for (std::size_t s = 0; s < steps; ++s) {
                const data::Batch b = set->batch(batches[s % batches.size()]);
                timed([&] {  // forward, loss, backward, clipping at 5, Adam
                    const auto e = translator.loss(b, kl.at(static_cast<long>(s)));
                    e.loss.backward();
                    const auto t0 = Clock::now();
                    nn::clip_grad_norm(adam.params(), 5.0f);
                    const auto t1 = Clock::now();
                    adam.step();
                    adam.zero_grad();
                    if (s >= warmup) {
                        update_ms[0] += std::chrono::duration<double, std::milli>(t1 - t0).count();
                        update_ms[1] += ms_since(t1);
                    }
                    return e.loss.item();
                }, b.text.tokens());
            }
        } else if (model == "text") {
            if (data_dir.empty()) data_dir = std::string(std::getenv("TAPEGRAD_DATA") ? std::getenv("TAPEGRAD_DATA") : "data") + "/ptb";
            data::Vocabulary vocab;
            data::TextDataset set{data::SentenceDataset()};
            {  // the token strings are needed only to encode the sentences
                const auto train = data::read_sentences(data_dir + "/ptb.train.txt");
                vocab = data::Vocabulary::build(train, min_count);
                set.sentences = data::SentenceDataset(train, vocab, max_length);
            }
            kernels::release_unused_memory();
            models::vae::SentenceVAEConfig c;  // the reference's: embed 300, GRU 256, latent 16, embedding dropout 0.5
            c.vocab = vocab.size();
            c.embed = embed;
            if (hidden) c.hidden = hidden;
            if (latent) c.latent = latent;
            vocab_size = vocab.size();
            models::vae::SentenceVAE vae(c);
            parameters = vae.num_parameters();
            nn::Adam adam(vae.parameters(), {.lr = 1e-3f});
            adam.update_during_backward();  // the same updates as step() after backward(), with less memory
            models::vae::KLSchedule kl;  // logistic, k 0.0025, x0 2500
            const auto batches = set.plan(batch_size ? batch_size : 32, true, seed);
            for (std::size_t s = 0; s < steps; ++s) {
                const data::Batch b = set.batch(batches[s % batches.size()]);
                timed([&] {
                    adam.begin_step();  // Adam updates each parameter inside backward()
                    const auto e = vae.loss(b, kl.at(static_cast<long>(s)));
                    e.loss.backward();
                    return e.loss.item();
                }, b.text.tokens());
            }
        } else {
            if (data_dir.empty()) data_dir = data::fashion_mnist_dir;
            const data::ImageDataset set(data::read_idx_split(data_dir, "train"));
            models::vae::ImageVAEConfig c;  // 784-400-20, Bernoulli
            if (hidden) c.hidden = hidden;
            if (latent) c.latent = latent;
            models::vae::ImageVAE vae(c);
            parameters = vae.num_parameters();
            nn::Adam adam(vae.parameters(), {.lr = 1e-3f});
            adam.update_during_backward();
            const auto batches = set.plan(batch_size ? batch_size : 128, true, seed);
            for (std::size_t s = 0; s < steps; ++s) {
                const auto& rows = batches[s % batches.size()];
                const data::Batch x = set.batch(rows);
                timed([&] {
                    adam.begin_step();
                    const auto e = vae.loss(x, 1.0f);
                    e.loss.backward();
                    return e.loss.item();
                }, rows.size());
            }
        }
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }

    const double floor_ms = gemm_floor_ms(step_products, 10) / static_cast<double>(floor_steps);
    const double floor_step_ms = std::accumulate(times.begin() + static_cast<std::ptrdiff_t>(warmup),
                                                 times.begin() + static_cast<std::ptrdiff_t>(warmup + floor_steps), 0.0) /
                                 static_cast<double>(floor_steps);
    const std::vector<double> t(times.begin() + static_cast<std::ptrdiff_t>(warmup), times.end());
    const double total_ms = std::accumulate(t.begin(), t.end(), 0.0);
    const double total_items = std::accumulate(items.begin() + static_cast<std::ptrdiff_t>(warmup), items.end(), 0.0);
    nlohmann::json r = {{"impl", "tapegrad"}, {"model", model}, {"threads", threads}, {"steps", steps}, {"warmup", warmup},
                        {"parameters", parameters}, {"vocab", vocab_size}, {"blas_core", kernels::core_name()},
                        {"median_ms", quantile(t, 0.5)}, {"mean_ms", total_ms / t.size()},
                        {"p10_ms", quantile(t, 0.1)}, {"p90_ms", quantile(t, 0.9)},
                        {"throughput", 1e3 * total_items / total_ms},
                        {"throughput_unit", model == "image" ? "examples/s" : "tokens/s"},
                        {"gemm_calls_per_step", step_products.size() / floor_steps},
                        {"gemm_gflop_per_step", gemm_gflop(step_products) / static_cast<double>(floor_steps)},
                        {"gemm_floor_ms", floor_ms}, {"floor_ratio", floor_step_ms / floor_ms},
                        {"items_per_step", total_items / t.size()}, {"peak_rss_mib", peak_rss_mib()},
                        {"rss_at_start_mib", rss_start}, {"last_loss", last_loss}};
    std::cout << r.dump() << '\n';
    if (!json_path.empty()) std::ofstream(json_path) << r.dump(1) << '\n';
    if (profile) {
        std::cerr << "\nper step, averaged over " << t.size() << " steps (forward: time since the previous op was recorded)\n";
        autograd::Profiler::print(std::cerr, static_cast<double>(t.size()));
        if (model != "text" && model != "image")
            std::cerr << "outside the tape: clip_grad_norm " << update_ms[0] / t.size() << " ms, Adam step + zero_grad "
                      << update_ms[1] / t.size() << " ms\n";
    }
    return 0;
}
