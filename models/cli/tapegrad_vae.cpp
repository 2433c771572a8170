// tapegrad-vae: train, evaluate and generate from the sentence VAE (Bowman et al.
// 2016) on the Penn Treebank and the image VAE (Kingma & Welling 2014) on
// (Fashion-)MNIST. Every knob is a flag; `tapegrad-vae <command> --help` lists them.
//   tapegrad-vae train --model text --epochs 4 --run runs/text
//   tapegrad-vae eval --run runs/text
//   tapegrad-vae sample --run runs/text --n 5 --method beam
//   tapegrad-vae interpolate --run runs/text --from "..." --to "..."
//   tapegrad-vae reconstruct --run runs/text "the company said it expects ..."
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "autograd/autograd.hpp"
#include "autograd/kernels/blas.hpp"
#include "models/data/images.hpp"
#include "models/data/text.hpp"
#include "models/vae/evaluate.hpp"
#include "models/vae/generate.hpp"
#include "models/vae/tasks.hpp"
#include "nn/checkpoint.hpp"

using namespace tapegrad;
using namespace tapegrad::models;
using namespace tapegrad::models::vae;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Where data lives: --data, else $TAPEGRAD_DATA/<name>, else data/<name> (what scripts/get-data fills).
std::string data_dir(const std::string& flag, const std::string& name) {
    if (!flag.empty()) return flag;
    if (const char* root = std::getenv("TAPEGRAD_DATA"); root && *root && fs::exists(fs::path(root) / name))
        return (fs::path(root) / name).string();
    return (fs::path("data") / name).string();
}

std::string image_dir(const std::string& flag, const std::string& dataset) {
    if (!flag.empty()) return flag;
    if (dataset == "fashion-mnist") return data::fashion_mnist_dir;
    return data_dir("", "mnist");
}

struct TextData {
    data::Vocabulary vocab;
    data::SentenceDataset train, valid, test;
};

TextData load_text(const std::string& dir, std::size_t min_count, std::size_t max_length, const data::Vocabulary* vocab) {
    for (const char* f : {"ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"})
        if (!fs::exists(fs::path(dir) / f))
            throw Error(dir + "/" + f + " not found: run scripts/get-data (or pass --data DIR)");
    TextData d;
    const auto train = data::read_sentences(dir + "/ptb.train.txt");
    d.vocab = vocab ? *vocab : data::Vocabulary::build(train, min_count);
    d.train = data::SentenceDataset(train, d.vocab, max_length);
    d.valid = data::SentenceDataset(data::read_sentences(dir + "/ptb.valid.txt"), d.vocab, max_length);
    d.test = data::SentenceDataset(data::read_sentences(dir + "/ptb.test.txt"), d.vocab, max_length);
    kernels::release_unused_memory();  // the token strings are gone; give their holes back before training
    return d;
}

void set_threads(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    autograd::set_num_threads(threads);
}

// A model rebuilt from a run directory's checkpoint.
struct Loaded {
    json meta;
    std::unique_ptr<SentenceVAE> text;
    std::unique_ptr<ImageVAE> image;
    data::Vocabulary vocab;
    std::size_t max_length = 60;
};

Loaded load_run(const std::string& run) {
    Loaded l;
    const std::string ckpt = (fs::path(run) / "checkpoint.npz").string();
    if (!fs::exists(ckpt)) throw Error("no checkpoint at " + ckpt + " (train first: tapegrad-vae train --run " + run + ")");
    l.meta = read_run_meta(run);
    const json& cfg = l.meta.at("config");
    if (l.meta.at("model") == "sentence_vae") {
        l.vocab = data::Vocabulary::from_words(cfg.at("vocabulary").get<std::vector<std::string>>());
        l.max_length = cfg.value("max_length", std::size_t{60});
        l.text = std::make_unique<SentenceVAE>(sentence_config_from_json(cfg));
        nn::load_checkpoint(ckpt, *l.text);
    } else {
        l.image = std::make_unique<ImageVAE>(image_config_from_json(cfg));
        nn::load_checkpoint(ckpt, *l.image);
    }
    return l;
}

void print_text_metrics(const std::string& split, const TextMetrics& m, const ImportanceWeighted* iw, const LatentMetrics* lm) {
    std::cout << std::fixed << std::setprecision(2);
    std::cout << "sentence VAE, " << split << " split: " << m.sentences << " sentences, " << m.tokens
              << " target tokens (words + </s>; <s> not counted)\n";
    std::cout << "  NLL  -log p(x|z), 1 z sample     " << std::setw(8) << m.nll << " nats/sentence\n";
    std::cout << "  KL(q(z|x) || p(z))               " << std::setw(8) << m.kl << "\n";
    std::cout << "  -ELBO = NLL + KL                 " << std::setw(8) << m.neg_elbo() << "   (ELBO " << -m.neg_elbo() << ")\n";
    std::cout << "  perplexity from -ELBO            " << std::setw(8) << m.ppl_elbo() << "   (exp of -ELBO per target token)\n";
    if (iw)
        std::cout << "  IW NLL estimate, K=" << iw->k << ", first " << iw->examples << " sentences: " << iw->nll
                  << " nats/sentence, perplexity " << iw->ppl() << "  [1-sample -ELBO on them " << iw->neg_elbo_1sample << "]\n";
    if (lm)
        std::cout << "  active units (Var_x E_q[z_j] > 0.01) " << lm->active_units << " / " << lm->latent
                  << "   mutual information I(x;z) " << lm->mutual_information << " nats\n";
}

void print_image_metrics(const std::string& split, const ImageMetrics& m, const ImportanceWeighted* iw, const LatentMetrics* lm) {
    std::cout << std::fixed << std::setprecision(2);
    std::cout << "image VAE, " << split << " split: " << m.images << " images (nats per image)\n";
    std::cout << "  -log p(x|z), 1 z sample   " << std::setw(8) << m.recon << "\n";
    std::cout << "  KL(q(z|x) || p(z))        " << std::setw(8) << m.kl << "\n";
    std::cout << "  -ELBO                     " << std::setw(8) << m.neg_elbo() << "\n";
    if (iw)
        std::cout << "  IW NLL estimate, K=" << iw->k << ", first " << iw->examples << " images: " << iw->nll
                  << "  [1-sample -ELBO on them " << iw->neg_elbo_1sample << "]\n";
    if (lm)
        std::cout << "  active units " << lm->active_units << " / " << lm->latent << "   mutual information I(x;z) "
                  << lm->mutual_information << " nats\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tapegrad-vae: train, evaluate and sample the sentence VAE (PTB) and the image VAE ((Fashion-)MNIST)"};
    app.require_subcommand(1);
    int threads = 0;
    app.add_option("--threads", threads, "threads of tapegrad's pool, which computes products and the passes between them (0: one per core)");

    // ---- train ----
    auto* train_cmd = app.add_subcommand("train", "train a VAE (checkpoint every epoch and on Ctrl-C)");
    std::string model = "text", data_flag, run_dir, dataset = "fashion-mnist";
    TrainOptions opt;
    SentenceVAEConfig tc;
    ImageVAEConfig ic;
    std::size_t max_length = 60, min_count = 2, batch_size = 0, hidden = 0, latent = 0;
    double budget_min = 0.0;
    std::string anneal, cell = "gru", likelihood = "bernoulli", binarize = "none";
    bool autoencoder = false, bucketing = false, no_progress = false, no_validate = false;
    train_cmd->add_option("--model", model, "text (sentence VAE on PTB) or image (MLP VAE)")->check(CLI::IsMember({"text", "image"}));
    train_cmd->add_option("--data", data_flag, "data folder (default: $TAPEGRAD_DATA/ptb or data/ptb; images: see --dataset)");
    train_cmd->add_option("--dataset", dataset, "image data set")->check(CLI::IsMember({"fashion-mnist", "mnist"}));
    train_cmd->add_option("--run", run_dir, "run folder for checkpoint.npz, metrics.jsonl, curves.png (default runs/<model>)");
    train_cmd->add_option("--epochs", opt.epochs, "epochs")->capture_default_str();
    train_cmd->add_option("--max-steps", opt.max_steps, "stop after this many steps in all (0: no limit)");
    train_cmd->add_option("--time-budget", budget_min, "stop after this many minutes of training (0: no limit)");
    train_cmd->add_option("--batch-size", batch_size, "batch size (default 32 text, 128 image)");
    train_cmd->add_option("--lr", opt.lr, "Adam learning rate")->capture_default_str();
    train_cmd->add_option("--clip", opt.clip_norm, "clip the gradient norm (0: off)");
    train_cmd->add_option("--seed", opt.seed, "seed of everything random")->capture_default_str();
    train_cmd->add_option("--embed", tc.embed, "text: embedding size")->capture_default_str();
    train_cmd->add_option("--hidden", hidden, "hidden size (default 256 text RNN, 400 image MLP)");
    train_cmd->add_option("--latent", latent, "latent size (default 16 text, 20 image)");
    train_cmd->add_option("--layers", tc.layers, "text: recurrent layers")->capture_default_str();
    train_cmd->add_option("--cell", cell, "text: gru or lstm")->check(CLI::IsMember({"gru", "lstm"}))->capture_default_str();
    train_cmd->add_flag("--bidirectional", tc.bidirectional, "text: bidirectional encoder");
    train_cmd->add_option("--max-length", max_length, "text: tokens per sentence incl. <s> (longer ones are cut)")->capture_default_str();
    train_cmd->add_option("--min-count", min_count, "text: a word needs this many training occurrences, else <unk>")->capture_default_str();
    train_cmd->add_option("--embedding-dropout", tc.embedding_dropout, "text: dropout on decoder input embeddings")->capture_default_str();
    train_cmd->add_option("--word-dropout", tc.word_dropout, "text: decoder inputs replaced by <unk> at this rate")->capture_default_str();
    train_cmd->add_flag("--bucketing", bucketing, "text: batch sentences of similar length");
    train_cmd->add_option("--likelihood", likelihood, "image: bernoulli or gaussian")->check(CLI::IsMember({"bernoulli", "gaussian"}));
    train_cmd->add_option("--sigma", ic.sigma, "image: standard deviation of the gaussian likelihood");
    train_cmd->add_option("--binarize", binarize, "image: none, fixed or dynamic")->check(CLI::IsMember({"none", "fixed", "dynamic"}));
    train_cmd->add_flag("--autoencoder", autoencoder, "train the plain (non-variational) autoencoder baseline");
    train_cmd->add_option("--anneal", anneal, "KL weight schedule: constant, linear, logistic, cyclical (default logistic text, constant image)")
        ->check(CLI::IsMember({"constant", "linear", "logistic", "cyclical"}));
    train_cmd->add_option("--kl-weight", opt.kl.weight, "final KL weight (beta)")->capture_default_str();
    train_cmd->add_option("--kl-k", opt.kl.k, "logistic schedule steepness")->capture_default_str();
    train_cmd->add_option("--kl-x0", opt.kl.x0, "logistic schedule midpoint (steps)")->capture_default_str();
    train_cmd->add_option("--kl-warmup", opt.kl.warmup, "linear schedule length (steps)")->capture_default_str();
    train_cmd->add_option("--kl-cycle", opt.kl.cycle, "cyclical schedule period (steps)")->capture_default_str();
    train_cmd->add_option("--kl-ratio", opt.kl.ratio, "cyclical schedule: rising fraction of a period")->capture_default_str();
    train_cmd->add_option("--free-bits", opt.free_bits, "free bits per latent dimension (nats; 0: off)");
    train_cmd->add_option("--log-every", opt.log_every, "metrics line every N steps")->capture_default_str();
    train_cmd->add_flag("--resume", opt.resume, "continue the run in --run from its checkpoint");
    train_cmd->add_flag("--no-progress", no_progress, "plain log lines instead of a progress bar");
    train_cmd->add_flag("--no-validate", no_validate, "skip the per-epoch evaluation on held-out data");

    // ---- eval ----
    auto* eval_cmd = app.add_subcommand("eval", "evaluate a trained run: -ELBO, NLL, KL, IW NLL, perplexity, active units, I(x;z)");
    std::string split = "test";
    std::size_t iw_k = 100, iw_n = 0;
    std::string json_out;
    std::uint64_t seed = 1;
    eval_cmd->add_option("--run", run_dir, "run folder")->required();
    eval_cmd->add_option("--data", data_flag, "data folder (as for train)");
    eval_cmd->add_option("--split", split, "valid or test")->check(CLI::IsMember({"valid", "test"}))->capture_default_str();
    eval_cmd->add_option("--iw-k", iw_k, "importance samples K (0: skip the IW estimate)")->capture_default_str();
    eval_cmd->add_option("--iw-n", iw_n, "examples for the IW estimate (default 500 sentences / 1000 images)");
    eval_cmd->add_option("--json", json_out, "also write the numbers to this JSON file");
    eval_cmd->add_option("--seed", seed, "seed of the z samples")->capture_default_str();

    // ---- sample ----
    auto* sample_cmd = app.add_subcommand("sample", "generate from the prior z ~ N(0, I)");
    std::size_t n = 0, beam = 5;
    std::string method = "greedy", out_png;
    float temperature = 1.0f;
    sample_cmd->add_option("--run", run_dir, "run folder")->required();
    sample_cmd->add_option("--n", n, "how many (default 5 sentences, 64 images)");
    sample_cmd->add_option("--method", method, "greedy, sample or beam")->check(CLI::IsMember({"greedy", "sample", "beam"}))->capture_default_str();
    sample_cmd->add_option("--temperature", temperature, "sampling temperature")->capture_default_str();
    sample_cmd->add_option("--beam", beam, "beam width")->capture_default_str();
    sample_cmd->add_option("--seed", seed, "seed of z")->capture_default_str();
    sample_cmd->add_option("--out", out_png, "images: PNG grid path (default <run>/samples.png)");

    // ---- interpolate ----
    auto* interp_cmd = app.add_subcommand("interpolate", "decode points on the line between two sentences' codes (homotopy)");
    std::string from, to;
    std::size_t steps = 8;
    interp_cmd->add_option("--run", run_dir, "run folder")->required();
    interp_cmd->add_option("--from", from, "first sentence (default: a random z from the prior)");
    interp_cmd->add_option("--to", to, "second sentence (default: a random z from the prior)");
    interp_cmd->add_option("--steps", steps, "points, endpoints included")->capture_default_str();
    interp_cmd->add_option("--method", method, "greedy, sample or beam")->check(CLI::IsMember({"greedy", "sample", "beam"}))->capture_default_str();
    interp_cmd->add_option("--seed", seed, "seed of the random endpoints")->capture_default_str();

    // ---- reconstruct ----
    auto* recon_cmd = app.add_subcommand("reconstruct", "encode sentences (or test images) and decode them again");
    std::vector<std::string> sentences;
    recon_cmd->add_option("--run", run_dir, "run folder")->required();
    recon_cmd->add_option("sentences", sentences, "sentences to reconstruct (default: the first test sentences)");
    recon_cmd->add_option("--n", n, "how many test examples when no sentence is given (default 5 / 16 images)");
    recon_cmd->add_option("--data", data_flag, "data folder (as for train)");
    recon_cmd->add_option("--method", method, "greedy, sample or beam")->check(CLI::IsMember({"greedy", "sample", "beam"}))->capture_default_str();
    recon_cmd->add_option("--out", out_png, "images: PNG path (default <run>/reconstructions.png)");

    CLI11_PARSE(app, argc, argv);
    try {
        set_threads(threads);
        if (*train_cmd) {
            if (run_dir.empty()) run_dir = "runs/" + model;
            opt.run_dir = run_dir;
            opt.progress = !no_progress;
            opt.validate = !no_validate;
            opt.time_budget_s = 60.0 * budget_min;
            opt.kl.kind = parse_schedule(anneal.empty() ? (model == "text" ? "logistic" : "constant") : anneal);
            opt.batch_size = batch_size ? batch_size : (model == "text" ? 32 : 128);
            std::cout << "tapegrad-vae train: " << model << " model, KL schedule " << opt.kl.describe() << ", run folder "
                      << run_dir << "\n";
            if (const std::string advice = kernels::kernel_advice(); !advice.empty()) std::cout << "note: " << advice << "\n";
            TrainResult r;
            if (model == "text") {
                // On resume the vocabulary and configuration come from the checkpoint.
                std::unique_ptr<data::Vocabulary> saved_vocab;
                if (opt.resume) {
                    const json meta = read_run_meta(run_dir);
                    tc = sentence_config_from_json(meta.at("config"));
                    max_length = meta["config"].value("max_length", max_length);
                    saved_vocab = std::make_unique<data::Vocabulary>(
                        data::Vocabulary::from_words(meta["config"].at("vocabulary").get<std::vector<std::string>>()));
                }
                const std::string dir = data_dir(data_flag, "ptb");
                TextData d = load_text(dir, min_count, max_length, saved_vocab.get());
                if (!opt.resume) {
                    tc.vocab = d.vocab.size();
                    if (hidden) tc.hidden = hidden;
                    if (latent) tc.latent = latent;
                    tc.cell = parse_cell(cell);
                    tc.variational = !autoencoder;
                }
                std::cout << "data: " << dir << ": " << d.train.size() << " training sentences (" << d.train.tokens()
                          << " target tokens), vocabulary " << d.vocab.size() << "\n";
                autograd::manual_seed(opt.seed);
                SentenceVAE vae(tc);
                std::cout << "model: sentence VAE, " << vae.num_parameters() << " parameters (embed " << tc.embed << ", "
                          << (tc.cell == Cell::gru ? "GRU " : "LSTM ") << tc.hidden << ", latent " << tc.latent << ")\n";
                TrainTask task = sentence_task(vae, d.vocab, d.train, &d.valid, opt.batch_size, bucketing, opt.free_bits);
                task.config["max_length"] = max_length;
                r = train(task, opt);
            } else {
                const std::string dir = image_dir(data_flag, dataset);
                data::ImageSet tr = data::read_idx_split(dir, "train"), te = data::read_idx_split(dir, "t10k");
                const data::Binarize mode = data::parse_binarize(binarize);
                if (mode == data::Binarize::fixed) {
                    data::binarize_fixed(tr, opt.seed);
                    data::binarize_fixed(te, opt.seed + 1);
                }
                if (opt.resume) ic = image_config_from_json(read_run_meta(run_dir).at("config"));
                else {
                    ic.input = tr.pixels_per_image();
                    if (hidden) ic.hidden = hidden;
                    if (latent) ic.latent = latent;
                    ic.likelihood = parse_likelihood(likelihood);
                    ic.variational = !autoencoder;
                }
                std::cout << "data: " << dir << ": " << tr.count << " training images, " << te.count << " test images\n";
                autograd::manual_seed(opt.seed);
                ImageVAE vae(ic);
                std::cout << "model: image VAE " << ic.input << "-" << ic.hidden << "-" << ic.latent << ", "
                          << vae.num_parameters() << " parameters\n";
                TrainTask task = image_task(vae, tr, &te, mode, opt.batch_size, opt.free_bits);
                r = train(task, opt);
            }
            std::cout << std::fixed << std::setprecision(2) << "trained " << r.steps << " steps (" << r.epochs
                      << " epochs) in " << r.train_seconds << " s; median " << r.median_step_ms() << " ms/step\n";
            std::string why;
            const std::string png = plot_curves(run_dir, why);
            std::cout << "checkpoint: " << run_dir << "/checkpoint.npz   metrics: " << run_dir << "/metrics.jsonl\n";
            std::cout << (png.empty() ? "curves: not drawn (" + why + ")" : "curves: " + png) << "\n";
            return r.interrupted ? 130 : 0;
        }

        Loaded l = load_run(run_dir);
        if (*eval_cmd) {
            json out;
            if (l.text) {
                TextData d = load_text(data_dir(data_flag, "ptb"), 0, l.max_length, &l.vocab);
                const data::SentenceDataset& set = split == "test" ? d.test : d.valid;
                const TextMetrics m = evaluate(*l.text, set, 64, seed);
                std::unique_ptr<ImportanceWeighted> iw;
                if (iw_k) iw = std::make_unique<ImportanceWeighted>(importance_weighted_nll(*l.text, set, iw_n ? iw_n : 500, iw_k, seed));
                const LatentMetrics lm = latent_metrics(*l.text, set, 64, seed);
                print_text_metrics(split, m, iw.get(), &lm);
                out = {{"split", split}, {"sentences", m.sentences}, {"tokens", m.tokens}, {"nll", m.nll}, {"kl", m.kl},
                       {"neg_elbo", m.neg_elbo()}, {"ppl_elbo", m.ppl_elbo()}, {"active_units", lm.active_units},
                       {"mutual_information", lm.mutual_information}};
                if (iw) out["iw"] = {{"k", iw->k}, {"n", iw->examples}, {"nll", iw->nll}, {"ppl", iw->ppl()}, {"neg_elbo_1sample", iw->neg_elbo_1sample}};
            } else {
                const json& cfg = l.meta["config"];
                const std::string dir = image_dir(data_flag, dataset);
                data::ImageSet te = data::read_idx_split(dir, split == "test" ? "t10k" : "t10k");
                const data::Binarize mode = data::parse_binarize(cfg.value("binarize", std::string("none")));
                if (mode == data::Binarize::fixed) data::binarize_fixed(te, l.meta["train"]["options"].value("seed", 1ULL) + 1);
                const ImageMetrics m = evaluate(*l.image, te, mode, 1000, seed);
                std::unique_ptr<ImportanceWeighted> iw;
                if (iw_k) iw = std::make_unique<ImportanceWeighted>(importance_weighted_nll(*l.image, te, mode, iw_n ? iw_n : 1000, iw_k, seed));
                const LatentMetrics lm = latent_metrics(*l.image, te, mode, 1000, seed);
                print_image_metrics(split, m, iw.get(), &lm);
                out = {{"split", split}, {"images", m.images}, {"recon", m.recon}, {"kl", m.kl}, {"neg_elbo", m.neg_elbo()},
                       {"active_units", lm.active_units}, {"mutual_information", lm.mutual_information}};
                if (iw) out["iw"] = {{"k", iw->k}, {"n", iw->examples}, {"nll", iw->nll}, {"neg_elbo_1sample", iw->neg_elbo_1sample}};
            }
            if (!json_out.empty()) std::ofstream(json_out) << out.dump(1) << '\n';
            return 0;
        }

        DecodeOptions dec;
        dec.method = parse_decoding(method);
        dec.temperature = temperature;
        dec.beam_width = beam;
        dec.max_length = l.max_length;
        if (*sample_cmd) {
            autograd::manual_seed(seed);
            if (l.text) {
                const Array z = prior_samples(n ? n : 5, l.text->config.latent);
                for (const auto& s : decode(*l.text, z, dec)) std::cout << l.vocab.decode(s) << '\n';
            } else {
                autograd::NoGradGuard no_grad;
                nn::EvalGuard eval(*l.image);
                const std::size_t count = n ? n : 64;
                const std::string path = out_png.empty() ? run_dir + "/samples.png" : out_png;
                const Array z = prior_samples(count, l.image->config.latent);
                save_image_grid(path, l.image->mean_image(l.image->decode(autograd::Tensor(z))), 28, 28, 8);
                std::cout << count << " samples from the prior: " << path << '\n';
                if (l.image->config.latent == 2) {
                    const std::string mpath = run_dir + "/manifold.png";
                    save_image_grid(mpath, latent_manifold(*l.image, 20), 28, 28, 20);
                    std::cout << "latent manifold: " << mpath << '\n';
                }
            }
            return 0;
        }
        if (*interp_cmd) {
            if (!l.text) throw Error("interpolate works on a sentence VAE run");
            autograd::manual_seed(seed);
            auto endpoint = [&](const std::string& sentence) -> Array {
                if (sentence.empty()) return xt::view(prior_samples(1, l.text->config.latent), 0, xt::all());
                std::istringstream words(sentence);
                data::Tokens t;
                for (std::string w; words >> w;) t.push_back(w);
                return xt::view(encode_mean(*l.text, {t}, l.vocab, l.max_length), 0, xt::all());
            };
            const Array a = endpoint(from), b = endpoint(to);
            const auto out = decode(*l.text, interpolate(a, b, steps), dec);
            for (std::size_t i = 0; i < out.size(); ++i)
                std::cout << std::setw(5) << std::fixed << std::setprecision(2) << double(i) / double(steps - 1) << "  "
                          << l.vocab.decode(out[i]) << '\n';
            return 0;
        }
        if (*recon_cmd) {
            if (l.text) {
                std::vector<data::Tokens> toks;
                for (const std::string& s : sentences) {
                    std::istringstream words(s);
                    data::Tokens t;
                    for (std::string w; words >> w;) t.push_back(w);
                    toks.push_back(t);
                }
                if (toks.empty()) {
                    const auto test = data::read_sentences(data_dir(data_flag, "ptb") + "/ptb.test.txt");
                    toks.assign(test.begin(), test.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(n ? n : 5, test.size())));
                }
                const auto out = decode(*l.text, encode_mean(*l.text, toks, l.vocab, l.max_length), dec);
                for (std::size_t i = 0; i < toks.size(); ++i) {
                    std::string in;
                    for (const auto& w : toks[i]) in += (in.empty() ? "" : " ") + (l.vocab.id(w) == data::Vocabulary::unk ? "<unk>" : w);
                    std::cout << "   input: " << in << "\n  output: " << l.vocab.decode(out[i]) << "\n";
                }
            } else {
                autograd::NoGradGuard no_grad;
                nn::EvalGuard eval(*l.image);
                const std::string dir = image_dir(data_flag, dataset);
                data::ImageSet te = data::read_idx_split(dir, "t10k");
                const std::size_t count = n ? n : 16;
                std::vector<std::size_t> rows(count);
                for (std::size_t i = 0; i < count; ++i) rows[i] = i;
                const Array x = data::image_batch(te, rows, data::Binarize::none, autograd::generator());
                const Array r = l.image->mean_image(l.image->decode(l.image->encode(autograd::Tensor(x)).loc));
                Array both = xt::concatenate(xt::xtuple(x, r), 0);
                const std::string path = out_png.empty() ? run_dir + "/reconstructions.png" : out_png;
                save_image_grid(path, both, 28, 28, count);
                std::cout << "originals (top row) and reconstructions (bottom row): " << path << '\n';
            }
            return 0;
        }
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    } catch (const json::exception& e) {
        std::cerr << "error: malformed checkpoint metadata: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
