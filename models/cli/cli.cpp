// tapegrad-vae: one function per subcommand, sharing the loading of data and runs.
//   tapegrad-vae train --model text --epochs 4 --run runs/text
//   tapegrad-vae eval --run runs/text
//   tapegrad-vae sample --run runs/text --n 5 --method beam
//   tapegrad-vae interpolate --run runs/text --from "..." --to "..."
//   tapegrad-vae reconstruct --run runs/text "the company said it expects ..."
//   tapegrad-vae translate --run runs/translate --split test     (or sentences on stdin)
#include "models/cli/cli.hpp"

#include <chrono>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <map>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "autograd/autograd.hpp"
#include "autograd/kernels/blas.hpp"
#include "models/cli/checks.hpp"
#include "models/cli/registry.hpp"
#include "models/data/parallel.hpp"
#include "models/data/utf8.hpp"
#include "models/eval/bleu.hpp"
#include "models/eval/chrf.hpp"
#include "models/vae/evaluate.hpp"
#include "models/vae/generate.hpp"
#include "nn/checkpoint.hpp"
#include "nn/npz.hpp"

namespace tapegrad::models::cli {

using json = nlohmann::json;
using namespace vae;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- data

// Where data lives: --data, else $TAPEGRAD_DATA/<name>, else data/<name> (what scripts/get-data fills).
std::string data_dir(const std::string& flag, const std::string& name) {
    if (!flag.empty()) return flag;
    if (const char* root = std::getenv("TAPEGRAD_DATA"); root && *root && fs::exists(fs::path(root) / name))
        return (fs::path(root) / name).string();
    return (fs::path("data") / name).string();
}

std::string image_folder(const std::string& flag, const std::string& dataset) {
    if (!flag.empty()) return flag;
    if (dataset == "fashion-mnist") return data::fashion_mnist_dir;
    return data_dir("", dataset);
}

// A text corpus's split file: the pattern with {split} replaced.
std::string split_file(const json& d, const std::string& split) {
    std::string pattern = d.value("files", std::string("ptb.{split}.txt"));
    const auto at = pattern.find("{split}");
    if (at == std::string::npos)
        throw Error("--files " + pattern + ": the pattern must contain {split} (as in ptb.{split}.txt)");
    return (fs::path(d.at("folder").get<std::string>()) / pattern.replace(at, 7, split)).string();
}

struct Data {
    std::unique_ptr<data::Dataset> train, valid, test;
    data::Vocabulary vocab;         // text; the target side of sentence pairs
    data::Vocabulary source_vocab;  // sentence pairs
};

// A vocabulary recorded under `key` in the data's description, else built from the
// training sentences and recorded there.
data::Vocabulary recorded_vocabulary(json& d, const std::string& key, const std::vector<data::Tokens>& train) {
    if (d.contains(key)) return data::Vocabulary::from_words(d.at(key).get<std::vector<std::string>>());
    data::Vocabulary v = data::Vocabulary::build(train, d.value("min_count", std::size_t{2}));
    d[key] = v.words();
    return v;
}

// Sentence pairs: folder/{split}.{source,target}, tokenised (parallel.hpp), one
// vocabulary per language from the training split.
Data load_parallel(json& d, bool need_train) {
    Data out;
    const std::string folder = d.at("folder"), src = d.value("source", std::string("en")),
                      tgt = d.value("target", std::string("es"));
    const std::size_t max_length = d.value("max_length", std::size_t{80});
    const bool bucketing = d.value("bucketing", true);
    auto split = [&](const std::string& name) {
        for (const std::string& lang : {src, tgt})
            if (const auto path = fs::path(folder) / (name + "." + lang); !fs::exists(path))
                throw Error(path.string() + " not found: run scripts/get-data bible, or name the corpus with --data DIR");
        const data::ParallelCorpus c = data::read_parallel_split(folder, name, src, tgt);
        return std::pair{data::tokenize_lines(c.source), data::tokenize_lines(c.target)};
    };
    std::pair<std::vector<data::Tokens>, std::vector<data::Tokens>> train;
    if (need_train || !d.contains("vocabulary") || !d.contains("source_vocabulary")) train = split("train");
    out.source_vocab = recorded_vocabulary(d, "source_vocabulary", train.first);
    out.vocab = recorded_vocabulary(d, "vocabulary", train.second);
    auto dataset = [&](const std::pair<std::vector<data::Tokens>, std::vector<data::Tokens>>& pairs, bool bucket) {
        return std::make_unique<data::ParallelDataset>(data::SentenceDataset(pairs.first, out.source_vocab, max_length),
                                                       data::SentenceDataset(pairs.second, out.vocab, max_length), bucket);
    };
    if (need_train) out.train = dataset(train, bucketing);
    out.valid = dataset(split("valid"), false);
    out.test = dataset(split("test"), false);
    kernels::release_unused_memory();
    return out;
}

// Reads the splits a run needs. d: the data's description (config["data"]); with a
// recorded vocabulary it is used, else built from the training split.
Data load_data(DataKind kind, json& d, bool need_train, std::uint64_t seed) {
    if (kind == DataKind::parallel) return load_parallel(d, need_train);
    Data out;
    if (kind == DataKind::text) {
        const std::size_t max_length = d.value("max_length", std::size_t{60});
        const bool bucketing = d.value("bucketing", false);
        data::ReadOptions read;
        read.lower_case = d.value("lower_case", true);
        auto split = [&](const std::string& name) {
            const std::string path = split_file(d, name);
            if (!fs::exists(path))
                throw Error(path + " not found: run scripts/get-data, or name the corpus with --data DIR and --files PATTERN");
            return data::read_sentences(path, read);
        };
        std::vector<data::Tokens> train_text;
        if (need_train || !d.contains("vocabulary")) train_text = split("train");
        if (d.contains("vocabulary"))
            out.vocab = data::Vocabulary::from_words(d.at("vocabulary").get<std::vector<std::string>>());
        else {
            out.vocab = data::Vocabulary::build(train_text, d.value("min_count", std::size_t{2}));
            d["vocabulary"] = out.vocab.words();
        }
        auto dataset = [&](const std::vector<data::Tokens>& s, bool bucket) {
            return std::make_unique<data::TextDataset>(data::SentenceDataset(s, out.vocab, max_length), bucket);
        };
        if (need_train) out.train = dataset(train_text, bucketing);
        out.valid = dataset(split("valid"), false);
        out.test = dataset(split("test"), false);
        kernels::release_unused_memory();  // the token strings are gone; give their holes back before training
        return out;
    }
    const std::string folder = d.at("folder");
    const data::Binarize mode = data::parse_binarize(d.value("binarize", std::string("none")));
    auto split = [&](const char* prefix, std::uint64_t fixed_seed) {
        data::ImageSet set = data::read_idx_split(folder, prefix);
        if (mode == data::Binarize::fixed) data::binarize_fixed(set, fixed_seed);
        return std::make_unique<data::ImageDataset>(std::move(set), mode);
    };
    if (need_train) out.train = split("train", seed);
    out.test = split("t10k", seed + 1);
    return out;
}

// ---------------------------------------------------------------- runs

struct Run {
    std::string dir;
    json meta;
    const ModelType* type = nullptr;
    std::unique_ptr<LatentVariableModel> model;
};

// Checkpoints written before the model registry recorded "sentence_vae" or
// "image_vae" and kept the data's description beside the model's configuration.
void upgrade_old_meta(json& meta) {
    json& c = meta.at("config");
    if (meta.at("model") == "sentence_vae") {
        meta["model"] = "text";
        c["data"] = {{"kind", "text"}, {"folder", data_dir("", "ptb")}, {"files", "ptb.{split}.txt"},
                     {"max_length", c.value("max_length", std::size_t{60})}, {"vocabulary", c.at("vocabulary")}};
    } else if (meta.at("model") == "image_vae") {
        meta["model"] = "image";
        c["data"] = {{"kind", "images"}, {"dataset", "fashion-mnist"}, {"folder", data::fashion_mnist_dir},
                     {"binarize", c.value("binarize", std::string("none"))}};
    }
}

Run load_run(const std::string& dir) {
    Run r;
    r.dir = dir;
    const std::string ckpt = (fs::path(dir) / "checkpoint.npz").string();
    if (!fs::exists(ckpt)) throw Error("no checkpoint at " + ckpt + " (train first: tapegrad-vae train --run " + dir + ")");
    r.meta = read_run_meta(dir);
    if (!r.meta.contains("model") || !r.meta.contains("config"))
        throw Error(ckpt + ": the metadata record names no model or configuration");
    upgrade_old_meta(r.meta);
    r.type = &find_model(r.meta.at("model"));
    r.model = r.type->build(r.meta.at("config"));
    nn::load_checkpoint(ckpt, *r.model);
    return r;
}

std::string kind_name(DataKind kind) {
    return kind == DataKind::text ? "text" : kind == DataKind::images ? "image" : "translation";
}

void require_kind(const Run& r, DataKind kind, const std::string& what) {
    if (r.type->data != kind)
        throw Error(what + " works on " + kind_name(kind) + " models; " + r.dir + " holds a run of model '" +
                    r.type->name + "'" + (r.type->data == DataKind::parallel ? " (use: tapegrad-vae translate)" : ""));
}

void refuse_translation(const Run& r, const std::string& what) {
    if (r.type->data == DataKind::parallel)
        throw Error(what + " works on text and image models; " + r.dir + " holds a translation model (model '" +
                    r.type->name + "'): use tapegrad-vae translate --run " + r.dir);
}

std::size_t seed_of(const Run& r) { return r.meta.at("train").at("options").value("seed", std::size_t{1}); }

// Data of a run for evaluation or generation; --data overrides the recorded folder.
Data run_data(Run& r, const std::string& data_flag) {
    json d = r.meta["config"].at("data");
    if (!data_flag.empty()) d["folder"] = data_flag;
    return load_data(r.type->data, d, false, seed_of(r));
}

std::vector<data::Tokens> words_of(const std::vector<std::string>& sentences) {
    std::vector<data::Tokens> out;
    for (const std::string& s : sentences) {
        std::istringstream in(s);
        data::Tokens t;
        for (std::string w; in >> w;) t.push_back(w);
        out.push_back(t);
    }
    return out;
}

// Warns when a sentence given to encode has no word the model knows.
void warn_unknown(const std::vector<data::Tokens>& sentences, const data::Vocabulary& vocab, bool lower_case) {
    for (const data::Tokens& s : sentences) {
        std::size_t known = 0;
        for (std::string w : s) {
            if (lower_case)
                for (char& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            known += vocab.id(w) != data::Vocabulary::unk;
        }
        if (s.empty())
            std::cerr << "warning: an empty sentence: its code is that of the empty sentence\n";
        else if (known == 0)
            std::cerr << "warning: no word of \"" << s.front() << (s.size() > 1 ? " ..." : "")
                      << "\" is in the vocabulary: it is read as <unk> only\n";
    }
}

// ---------------------------------------------------------------- train

struct TrainArgs {
    std::string model = "text", run_dir, data_flag, files = "ptb.{split}.txt", dataset = "fashion-mnist",
                binarize = "none", anneal, source = "en", target = "es";
    TrainOptions opt;
    std::size_t max_length = 60, min_count = 2;
    double budget_min = 0;
    bool bucketing = false, no_progress = false, no_validate = false, overwrite = false;
    std::function<json()> model_config;
    CLI::App* cmd = nullptr;
};

// The flags a resumed run may change: how long it goes on, how it reports, where the data is.
bool may_change_on_resume(const std::string& flag) {
    static const std::vector<std::string> free = {"--epochs", "--max-steps", "--time-budget", "--log-every",
                                                  "--no-progress", "--no-validate", "--resume", "--run", "--data",
                                                  "--model", "--overwrite", "--checkpoint-every", "--detect-anomaly"};
    return std::find(free.begin(), free.end(), flag) != free.end();
}

// The recorded value a flag would change, by the flag's name: training options are
// recorded under train.options, the data under config.data, the model's own under
// config (a flag --foo-bar is the key foo_bar).
std::string key_of(const std::string& flag) {
    static const std::map<std::string, std::string> renamed = {{"clip", "clip_norm"}, {"anneal", "kl_schedule"}};
    std::string k = flag.substr(2);
    std::replace(k.begin(), k.end(), '-', '_');
    const auto it = renamed.find(k);
    return it == renamed.end() ? k : it->second;
}

// On --resume: every flag given that disagrees with the checkpoint, listed.
void refuse_conflicting_flags(TrainArgs& a, const json& meta) {
    const json& options = meta.at("train").at("options");
    const json& config = meta.at("config");
    const json wanted_config = a.model_config();
    json wanted_options = {{"batch_size", a.opt.batch_size}, {"lr", a.opt.lr}, {"lr_warmup", a.opt.lr_warmup},
                           {"clip_norm", a.opt.clip_norm}, {"kl_weight", a.opt.kl.weight}, {"kl_k", a.opt.kl.k},
                           {"kl_x0", a.opt.kl.x0}, {"kl_warmup", a.opt.kl.warmup}, {"kl_cycle", a.opt.kl.cycle},
                           {"kl_ratio", a.opt.kl.ratio}, {"free_bits", a.opt.free_bits}, {"seed", a.opt.seed},
                           {"kl_schedule", a.anneal}};
    const json wanted_data = {{"files", a.files}, {"max_length", a.max_length}, {"min_count", a.min_count},
                              {"bucketing", a.bucketing}, {"dataset", a.dataset}, {"binarize", a.binarize},
                              {"source", a.source}, {"target", a.target}};
    std::string conflicts;
    for (const CLI::Option* o : a.cmd->get_options()) {
        if (o->count() == 0 || o->get_lnames().empty()) continue;
        const std::string flag = "--" + o->get_lnames()[0];
        if (may_change_on_resume(flag)) continue;
        const std::string key = key_of(flag);
        auto differs = [&](const json& recorded, const json& wanted) {
            if (!recorded.contains(key) || !wanted.contains(key)) return false;
            const json &r = recorded.at(key), &w = wanted.at(key);
            if (r.is_number() && w.is_number()) return std::abs(r.get<double>() - w.get<double>()) > 1e-6 * std::abs(r.get<double>());
            return r != w;
        };
        std::string recorded;
        if (differs(options, wanted_options)) recorded = options.at(key).dump();
        else if (config.contains("data") && differs(config.at("data"), wanted_data)) recorded = config["data"].at(key).dump();
        else if (differs(config, wanted_config)) recorded = config.at(key).dump();
        else if (!options.contains(key) && !config.contains(key) && !(config.contains("data") && config["data"].contains(key)))
            recorded = "(not recorded)";
        if (!recorded.empty()) conflicts += "\n  " + flag + " " + o->as<std::string>() + ": the checkpoint has " + recorded;
    }
    if (!conflicts.empty())
        throw Error("--resume continues the run as it was started; these flags disagree with its checkpoint:" + conflicts +
                    "\n(drop them, or start a new run in another folder)");
}

// On --resume: the training options are the run's own, as its checkpoint recorded
// them (a flag given again must agree with them, refuse_conflicting_flags), not the
// command line's defaults: a resumed run keeps its schedule, rates and seed.
void adopt_recorded_options(TrainArgs& a, const json& r) {
    TrainOptions& o = a.opt;
    o.batch_size = r.value("batch_size", o.batch_size);
    o.lr = r.value("lr", o.lr);
    o.lr_warmup = r.value("lr_warmup", o.lr_warmup);
    o.clip_norm = r.value("clip_norm", o.clip_norm);
    a.anneal = r.value("kl_schedule", a.anneal);
    o.kl.kind = parse_schedule(a.anneal);
    o.kl.weight = r.value("kl_weight", o.kl.weight);
    o.kl.k = r.value("kl_k", o.kl.k);
    o.kl.x0 = r.value("kl_x0", o.kl.x0);
    o.kl.warmup = r.value("kl_warmup", o.kl.warmup);
    o.kl.cycle = r.value("kl_cycle", o.kl.cycle);
    o.kl.ratio = r.value("kl_ratio", o.kl.ratio);
    o.free_bits = r.value("free_bits", o.free_bits);
    o.seed = r.value("seed", o.seed);
}

void add_train_flags(CLI::App& cmd, TrainArgs& a, const ModelType* type) {
    a.cmd = &cmd;
    cmd.add_option("--model", a.model, "the model to train: " + [] {
        std::string s;
        for (const auto& n : model_names()) s += (s.empty() ? "" : ", ") + n;
        return s;
    }())->capture_default_str();
    cmd.add_option("--run", a.run_dir, "run folder for checkpoint.npz, metrics.jsonl, curves.png (default runs/<model>)");
    cmd.add_flag("--resume", a.opt.resume, "continue the run in --run from its checkpoint");
    cmd.add_flag("--overwrite", a.overwrite, "start afresh in a run folder that holds a checkpoint, replacing it");
    cmd.add_option("--epochs", a.opt.epochs, "epochs")->check(count_at_least(1))->capture_default_str();
    cmd.add_option("--max-steps", a.opt.max_steps, "stop after this many steps in all (0: no limit)")->check(count_at_least(0));
    cmd.add_option("--time-budget", a.budget_min, "stop after this many minutes of training (0: no limit)")->check(at_least(0));
    cmd.add_option("--batch-size", a.opt.batch_size, "examples per batch")->check(count_at_least(1))->capture_default_str();
    cmd.add_option("--lr", a.opt.lr, "Adam learning rate")->check(positive())->capture_default_str();
    cmd.add_option("--lr-warmup", a.opt.lr_warmup, "linear learning-rate warm-up over this many steps (0: off)")
        ->check(count_at_least(0))->capture_default_str();
    cmd.add_option("--clip", a.opt.clip_norm, "clip the global gradient norm to this (0: off)")->check(at_least(0))->capture_default_str();
    cmd.add_option("--seed", a.opt.seed, "seed of everything random")->check(count_at_least(0))->capture_default_str();
    cmd.add_option("--anneal", a.anneal, "KL weight schedule")->check(CLI::IsMember({"constant", "linear", "logistic", "cyclical"}))
        ->capture_default_str();
    cmd.add_option("--kl-weight", a.opt.kl.weight, "final KL weight (beta)")->check(at_least(0))->capture_default_str();
    cmd.add_option("--kl-k", a.opt.kl.k, "logistic schedule steepness")->check(positive())->capture_default_str();
    cmd.add_option("--kl-x0", a.opt.kl.x0, "logistic schedule midpoint (steps)")->check(count_at_least(0))->capture_default_str();
    cmd.add_option("--kl-warmup", a.opt.kl.warmup, "linear schedule length (steps)")->check(count_at_least(1))->capture_default_str();
    cmd.add_option("--kl-cycle", a.opt.kl.cycle, "cyclical schedule period (steps)")->check(count_at_least(1))->capture_default_str();
    cmd.add_option("--kl-ratio", a.opt.kl.ratio, "cyclical schedule: rising fraction of a period")
        ->check(number_check("in (0, 1]", [](double v) { return v > 0 && v <= 1; }))->capture_default_str();
    cmd.add_option("--free-bits", a.opt.free_bits, "free bits per latent dimension (nats; 0: off)")->check(at_least(0))
        ->capture_default_str();
    cmd.add_option("--log-every", a.opt.log_every, "a metrics line every N steps")->check(count_at_least(1))->capture_default_str();
    cmd.add_flag("--no-progress", a.no_progress, "plain log lines instead of a progress bar");
    cmd.add_flag("--no-validate", a.no_validate, "skip the evaluation on held-out data after each epoch");
    cmd.add_option("--checkpoint-every", a.opt.checkpoint_every,
                   "also checkpoint every N steps within an epoch, so that a kill loses at most N steps (0: at epoch ends only)")
        ->check(count_at_least(0))->capture_default_str();
    cmd.add_flag("--detect-anomaly", a.opt.detect_anomaly,
                 "check every value and gradient and name the first op that makes a NaN or infinity (slower)");
    if (!type) return;
    if (type->data == DataKind::text) {
        cmd.add_option("--data", a.data_flag, "corpus folder (default: $TAPEGRAD_DATA/ptb, else data/ptb)");
        cmd.add_option("--files", a.files, "the split files in --data, {split} standing for train, valid and test")
            ->capture_default_str();
        cmd.add_option("--max-length", a.max_length, "tokens per sentence with <s> (longer ones are cut)")
            ->check(count_at_least(2))->capture_default_str();
        cmd.add_option("--min-count", a.min_count, "a word needs this many training occurrences, else <unk>")
            ->check(count_at_least(1))->capture_default_str();
        cmd.add_flag("--bucketing", a.bucketing, "batch sentences of similar length");
    } else if (type->data == DataKind::parallel) {
        a.max_length = 80;
        cmd.add_option("--data", a.data_flag, "corpus folder (default: $TAPEGRAD_DATA/bible-en-es, else data/bible-en-es)");
        cmd.add_option("--source", a.source, "source language: the files' suffix")->capture_default_str();
        cmd.add_option("--target", a.target, "target language: the files' suffix")->capture_default_str();
        cmd.add_option("--max-length", a.max_length, "tokens per sentence with </s> (longer ones are cut in training)")
            ->check(count_at_least(2))->capture_default_str();
        cmd.add_option("--min-count", a.min_count, "a word needs this many training occurrences, else <unk>")
            ->check(count_at_least(1))->capture_default_str();
        cmd.add_flag("--bucketing", a.bucketing, "batch sentence pairs of similar target length");
    } else {
        cmd.add_option("--dataset", a.dataset, "image data set")->check(CLI::IsMember({"fashion-mnist", "mnist"}))->capture_default_str();
        cmd.add_option("--data", a.data_flag, "image folder (default: Debian's Fashion-MNIST, or data/mnist)");
        cmd.add_option("--binarize", a.binarize, "none, fixed or dynamic")->check(CLI::IsMember({"none", "fixed", "dynamic"}))
            ->capture_default_str();
    }
    a.model_config = type->add_flags(cmd);
}

int train_command(TrainArgs& a, const ModelType& type) {
    TrainOptions& o = a.opt;
    if (a.run_dir.empty()) a.run_dir = "runs/" + a.model;
    o.run_dir = a.run_dir;
    o.progress = !a.no_progress;
    o.validate = !a.no_validate;
    o.time_budget_s = 60.0 * a.budget_min;
    o.kl.kind = parse_schedule(a.anneal);
    o.overwrite = a.overwrite;
    o.group = &nn::distributed::world();  // under mpirun: every rank trains on its share of each batch
    check_run_folder(a.run_dir, o.resume, o.overwrite);  // a file, an occupied folder: refused before the data is read
    json config;
    if (o.resume) {
        json meta = read_run_meta(a.run_dir);
        upgrade_old_meta(meta);
        if (meta.value("model", "") != type.name)
            throw Error(a.run_dir + " holds a run of model '" + meta.value("model", std::string("?")) + "', not of '" +
                        type.name + "' (pass --model " + meta.value("model", std::string("?")) + ")");
        refuse_conflicting_flags(a, meta);
        adopt_recorded_options(a, meta.at("train").at("options"));
        config = meta.at("config");
        if (!a.data_flag.empty()) config["data"]["folder"] = a.data_flag;
    } else {
        config = a.model_config();
        if (type.data == DataKind::text)
            config["data"] = {{"kind", "text"}, {"folder", data_dir(a.data_flag, "ptb")}, {"files", a.files},
                              {"max_length", a.max_length}, {"min_count", a.min_count}, {"bucketing", a.bucketing}};
        else if (type.data == DataKind::parallel) {
            if (a.source == a.target) throw Error("--source and --target are both '" + a.source + "'");
            config["data"] = {{"kind", "parallel"}, {"folder", data_dir(a.data_flag, "bible-en-es")}, {"source", a.source},
                              {"target", a.target}, {"max_length", a.max_length}, {"min_count", a.min_count},
                              {"bucketing", a.bucketing}};
        } else
            config["data"] = {{"kind", "images"}, {"dataset", a.dataset}, {"folder", image_folder(a.data_flag, a.dataset)},
                              {"binarize", a.binarize}};
    }
    std::cout << "tapegrad-vae train: model " << type.name << ", KL schedule " << o.kl.describe() << ", run folder "
              << a.run_dir << "\n";
    if (const std::string advice = kernels::kernel_advice(); !advice.empty()) std::cout << "note: " << advice << "\n";
    Data d = load_data(type.data, config["data"], true, o.seed);
    if (d.train->size() == 0) throw Error("the training split has no examples: nothing to train on");
    if (type.data == DataKind::text) config["vocab"] = d.vocab.size();
    else if (type.data == DataKind::parallel) {
        config["vocab"] = d.vocab.size();
        config["source_vocab"] = d.source_vocab.size();
    } else {
        const data::ImageSet& set = dynamic_cast<const data::ImageDataset&>(*d.train).images;
        config["input"] = set.pixels_per_image();
        config["data"]["rows"] = set.rows;
        config["data"]["cols"] = set.cols;
    }
    std::cout << "data: " << config["data"]["folder"].get<std::string>() << ": training " << d.train->describe() << "\n";
    autograd::manual_seed(o.seed);
    const std::unique_ptr<LatentVariableModel> model = type.build(config);
    std::cout << "model: " << type.name << ", " << model->num_parameters() << " parameters\n";
    const data::Dataset* valid = d.valid ? d.valid.get() : d.test.get();
    const TrainResult r = train(*model, *d.train, valid, {type.name, config}, o);
    std::cout << std::fixed << std::setprecision(2) << "trained " << r.steps << " steps (" << r.epochs << " epochs) in "
              << r.train_seconds << " s; median " << r.median_step_ms() << " ms/step\n";
    if (o.group->size() > 1) {
        const double steps = static_cast<double>(std::max<std::size_t>(1, r.step_ms.size()));  // this run's, not the resumed ones
        std::cout << "data parallel: " << o.group->size() << " ranks; " << r.buckets_in_sweep / steps << " of " << r.buckets
                  << " gradient buckets a step started during the sweep; waiting for the sums after it took "
                  << r.reduce_ms / steps << " ms/step\n";
    }
    std::string why = "drawn by rank 0";
    const std::string png = o.group->root() ? plot_curves(a.run_dir, why) : std::string();
    std::cout << "checkpoint: " << a.run_dir << "/checkpoint.npz   metrics: " << a.run_dir << "/metrics.jsonl\n";
    std::cout << (png.empty() ? "curves: not drawn (" + why + ")" : "curves: " + png) << "\n";
    return r.interrupted ? (r.signal == SIGTERM ? 143 : 130) : 0;
}

// ---------------------------------------------------------------- eval

struct EvalArgs {
    std::string run_dir, data_flag, split = "test", json_out;
    std::size_t iw_k = 100, iw_n = 500, batch_size = 64;
    std::uint64_t seed = 1;
};

int eval_command(const EvalArgs& a) {
    Run r = load_run(a.run_dir);
    Data d = run_data(r, a.data_flag);
    if (a.split == "valid" && !d.valid)
        throw Error("--split valid: the image data sets have no validation split (train and test only); use --split test");
    const data::Dataset& set = a.split == "valid" ? *d.valid : *d.test;
    // Under mpirun the ranks share the examples of NLL, KL and the IW estimate.
    nn::distributed::Communicator& group = nn::distributed::world();
    const Metrics m = evaluate(*r.model, set, a.batch_size, a.seed, &group);
    std::unique_ptr<ImportanceWeighted> iw;
    const bool latent = r.model->latent_size() > 0;  // a deterministic translation model has no z
    if (a.iw_k && latent)
        iw = std::make_unique<ImportanceWeighted>(importance_weighted_nll(*r.model, set, a.iw_n, a.iw_k, a.seed, &group));
    const LatentMetrics lm = latent ? latent_metrics(*r.model, set, a.batch_size, a.seed) : LatentMetrics{};
    const std::string unit = set.item_name() == "tokens" ? "sentence" : "example";
    const bool tokens = set.item_name() == "tokens";
    std::cout << std::fixed << std::setprecision(2);
    const json& trained = r.meta.at("train");
    KLSchedule kl;
    const json& opts = trained.at("options");
    kl.kind = parse_schedule(opts.value("kl_schedule", std::string("logistic")));
    kl.weight = opts.value("kl_weight", 1.0f), kl.k = opts.value("kl_k", 0.0025f), kl.x0 = opts.value("kl_x0", 2500L);
    kl.warmup = opts.value("kl_warmup", 10000L), kl.cycle = opts.value("kl_cycle", 10000L), kl.ratio = opts.value("kl_ratio", 0.5f);
    const long steps = trained.value("step", 0L);
    std::cout << "run " << r.dir << ": " << steps << " training steps; KL weight at the last step " << std::setprecision(3)
              << kl.at(steps > 0 ? steps - 1 : 0) << std::setprecision(2) << " (" << kl.describe()
              << "). Every number below is unweighted: beta = 1, no free bits.\n";
    std::cout << "model " << r.type->name << ", " << a.split << " split: " << set.describe()
              << (tokens ? " (target tokens: words + </s>; <s> not counted)" : "") << "\n";
    std::cout << "  NLL  -log p(x|z), 1 z sample     " << std::setw(8) << m.nll << " nats/" << unit << "\n";
    std::cout << "  KL(q(z|x) || p(z))               " << std::setw(8) << m.kl << "\n";
    std::cout << "  -ELBO = NLL + KL                 " << std::setw(8) << m.neg_elbo() << "   (ELBO " << -m.neg_elbo() << ")\n";
    if (tokens)
        std::cout << "  perplexity from -ELBO            " << std::setw(8) << m.ppl_elbo() << "   (exp of -ELBO per target token)\n";
    if (iw) {
        std::cout << "  IW NLL estimate, K=" << iw->k << ", first " << iw->examples << " " << unit << "s: " << iw->nll << " nats/" << unit;
        if (tokens) std::cout << ", perplexity " << iw->ppl();
        std::cout << "  [1-sample -ELBO on them " << iw->neg_elbo_1sample << "]\n";
    }
    if (latent)
        std::cout << "  active units (Var_x E_q[z_j] > 0.01) " << lm.active_units << " / " << lm.latent
                  << "   mutual information I(x;z) " << lm.mutual_information << " nats (first " << lm.examples << ")\n";
    else
        std::cout << "  (no latent variable: NLL is -log p(y|x), and there is no KL, IW estimate or active unit)\n";
    json out = {{"model", r.type->name}, {"split", a.split}, {"examples", m.examples}, {"items", m.items},
                {"nll", m.nll}, {"kl", m.kl}, {"neg_elbo", m.neg_elbo()}, {"active_units", lm.active_units},
                {"mutual_information", lm.mutual_information}};
    if (tokens) out["ppl_elbo"] = m.ppl_elbo();
    if (iw) out["iw"] = {{"k", iw->k}, {"n", iw->examples}, {"nll", iw->nll}, {"neg_elbo_1sample", iw->neg_elbo_1sample}};
    if (iw && tokens) out["iw"]["ppl"] = iw->ppl();
    if (!a.json_out.empty() && group.root()) nn::write_file_atomically(a.json_out, out.dump(1) + "\n");
    return 0;
}

// ---------------------------------------------------------------- generation

struct GenerateArgs {
    std::string run_dir, data_flag, method = "greedy", out_png, from, to;
    std::size_t n = 0, beam = 5, steps = 8, no_repeat_ngram = 0;
    float temperature = 1.0f;
    std::uint64_t seed = 1;
    std::vector<std::string> sentences;
    bool n_given = false, timing = false;
    std::vector<std::string> decoding_flags_given;  // of --method, --temperature, --beam, --no-repeat-ngram
};

DecodeOptions decode_options(const GenerateArgs& a, const Run& r) {
    DecodeOptions o;
    o.method = parse_decoding(a.method);
    o.temperature = a.temperature;
    o.beam_width = a.beam;
    o.no_repeat_ngram = a.no_repeat_ngram;
    o.max_length = r.meta["config"]["data"].value("max_length", std::size_t{60});
    return o;
}

const data::Vocabulary vocabulary_of(const Run& r) {
    return data::Vocabulary::from_words(r.meta["config"]["data"].at("vocabulary").get<std::vector<std::string>>());
}

// Labels for a conditional image model's samples: `per` of each class, one class per row.
data::Batch class_rows(std::size_t classes, std::size_t per) {
    data::Batch b;
    b.labels = Indices::from_shape({classes * per});
    for (std::size_t c = 0; c < classes; ++c)
        for (std::size_t k = 0; k < per; ++k) b.labels(c * per + k) = static_cast<std::int64_t>(c);
    b.rows.resize(classes * per);
    return b;
}

// Decoding flags mean nothing to a model that draws images: saying so beats ignoring them.
void refuse_decoding_flags_for_images(const GenerateArgs& a, const Run& r) {
    if (!a.decoding_flags_given.empty())
        throw Error(a.decoding_flags_given.front() + " applies to sentences; model '" + r.type->name + "' generates images");
}

int sample_command(const GenerateArgs& a) {
    Run r = load_run(a.run_dir);
    refuse_translation(r, "sample");
    autograd::manual_seed(a.seed);
    if (r.type->data == DataKind::text) {
        const data::Vocabulary vocab = vocabulary_of(r);
        const Array z = prior_samples(a.n_given ? a.n : 5, r.model->latent_size());
        const auto start = std::chrono::steady_clock::now();
        const auto sentences = decode(*r.model, z, decode_options(a, r));
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::size_t tokens = 0;
        for (const auto& s : sentences) {
            std::cout << vocab.decode(s) << '\n';
            tokens += s.size();
        }
        if (a.timing)
            std::cerr << "decoded " << sentences.size() << " sentences (" << tokens << " tokens, " << a.method << ") in "
                      << seconds << " s: " << sentences.size() / seconds << " sentences/s\n";
        return 0;
    }
    const auto* images = dynamic_cast<const ImageGenerator*>(r.model.get());
    if (!images) throw Error("model '" + r.type->name + "' does not generate images");
    refuse_decoding_flags_for_images(a, r);
    autograd::NoGradGuard no_grad;
    nn::EvalGuard eval(*r.model);
    const std::string path = a.out_png.empty() ? a.run_dir + "/samples.png" : a.out_png;
    const json& config = r.meta["config"];
    data::Batch condition;
    std::size_t count = a.n_given ? a.n : 64, columns = 8;
    const std::size_t rows = config["data"].value("rows", std::size_t{28}), cols = config["data"].value("cols", std::size_t{28});
    if (config.contains("classes")) {  // a conditional model: one row per class
        const std::size_t classes = config["classes"], per = a.n_given ? a.n : 10;
        condition = class_rows(classes, per);
        count = classes * per;
        columns = per;
    }
    const Array z = prior_samples(count, r.model->latent_size());
    save_image_grid(path, images->mean_image(autograd::Tensor(z), condition), rows, cols, columns);
    std::cout << count << " samples from the prior" << (config.contains("classes") ? ", one row per class" : "") << ": "
              << path << '\n';
    if (r.model->latent_size() == 2 && !config.contains("classes")) {
        const std::string mpath = a.run_dir + "/manifold.png";
        save_image_grid(mpath, latent_manifold(*r.model, 20), rows, cols, 20);
        std::cout << "latent manifold: " << mpath << '\n';
    }
    return 0;
}

int interpolate_command(const GenerateArgs& a) {
    Run r = load_run(a.run_dir);
    require_kind(r, DataKind::text, "interpolate");
    autograd::manual_seed(a.seed);
    const data::Vocabulary vocab = vocabulary_of(r);
    const json& d = r.meta["config"]["data"];
    auto endpoint = [&](const std::string& sentence) -> Array {
        if (sentence.empty()) return xt::view(prior_samples(1, r.model->latent_size()), 0, xt::all());
        const auto words = words_of({sentence});
        warn_unknown(words, vocab, d.value("lower_case", true));
        return xt::view(posterior_mean(*r.model, sentence_batch(words, vocab, d.value("max_length", std::size_t{60}))), 0,
                        xt::all());
    };
    const Array from = endpoint(a.from), to = endpoint(a.to);
    const auto out = decode(*r.model, interpolate(from, to, a.steps), decode_options(a, r));
    for (std::size_t i = 0; i < out.size(); ++i)
        std::cout << std::setw(5) << std::fixed << std::setprecision(2) << double(i) / double(a.steps - 1) << "  "
                  << vocab.decode(out[i]) << '\n';
    return 0;
}

int reconstruct_command(const GenerateArgs& a) {
    Run r = load_run(a.run_dir);
    refuse_translation(r, "reconstruct");
    if (r.type->data == DataKind::text) {
        const data::Vocabulary vocab = vocabulary_of(r);
        const json& d = r.meta["config"]["data"];
        std::vector<data::Tokens> words = words_of(a.sentences);
        if (words.empty()) {
            json dd = d;
            if (!a.data_flag.empty()) dd["folder"] = a.data_flag;
            const auto test = data::read_sentences(split_file(dd, "test"));
            words.assign(test.begin(), test.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(a.n_given ? a.n : 5, test.size())));
        }
        warn_unknown(words, vocab, d.value("lower_case", true));
        const data::Batch batch = sentence_batch(words, vocab, d.value("max_length", std::size_t{60}));
        const auto out = decode(*r.model, posterior_mean(*r.model, batch), decode_options(a, r));
        for (std::size_t i = 0; i < words.size(); ++i) {
            std::string in;
            for (const auto& w : words[i]) in += (in.empty() ? "" : " ") + (vocab.id(w) == data::Vocabulary::unk ? "<unk>" : w);
            std::cout << "   input: " << in << "\n  output: " << vocab.decode(out[i]) << "\n";
        }
        return 0;
    }
    const auto* images = dynamic_cast<const ImageGenerator*>(r.model.get());
    if (!images) throw Error("model '" + r.type->name + "' does not generate images");
    refuse_decoding_flags_for_images(a, r);
    Data d = run_data(r, a.data_flag);
    const std::size_t count = std::min(a.n_given ? a.n : 16, d.test->size());
    std::vector<std::size_t> rows(count);
    for (std::size_t i = 0; i < count; ++i) rows[i] = i;
    const data::Batch batch = d.test->batch(rows);
    const Array recon = images->mean_image(autograd::Tensor(posterior_mean(*r.model, batch)), batch);
    autograd::NoGradGuard no_grad;
    const Array both = xt::concatenate(xt::xtuple(batch.x.value(), recon), 0);
    const std::string path = a.out_png.empty() ? a.run_dir + "/reconstructions.png" : a.out_png;
    const json& dc = r.meta["config"]["data"];
    save_image_grid(path, both, dc.value("rows", std::size_t{28}), dc.value("cols", std::size_t{28}), count);
    std::cout << "originals (top row) and reconstructions (bottom row): " << path << '\n';
    return 0;
}

// ---------------------------------------------------------------- translate

struct TranslateArgs {
    std::string run_dir, data_flag, split, method = "beam", out, json_out;
    std::size_t beam = 5, batch_size = 64, n = 0, max_length = 0, examples = 0, no_repeat_ngram = 0;
    float length_penalty = 1.0f;
};

// Lines of stdin; a line that is not UTF-8 is refused with its number.
std::vector<std::string> stdin_lines() {
    std::vector<std::string> lines;
    for (std::string line; std::getline(std::cin, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        for (std::size_t i = 0; i < line.size();) {
            const std::size_t n = data::utf8_length(line, i);
            if (n == 0) throw Error("stdin line " + std::to_string(lines.size() + 1) + ": not UTF-8 text (byte " + std::to_string(i + 1) + ")");
            i += n;
        }
        lines.push_back(line);
    }
    return lines;
}

// Translations of `sources`, in their order: batches of sentences of similar length,
// z the prior's mean for a variational model (Zhang et al. 2016, sec. 3.3).
std::vector<std::string> translate(Run& r, const std::vector<std::string>& sources, const TranslateArgs& a) {
    const json& d = r.meta["config"]["data"];
    const auto source_vocab = data::Vocabulary::from_words(d.at("source_vocabulary").get<std::vector<std::string>>());
    const data::Vocabulary target_vocab = vocabulary_of(r);
    const std::vector<data::Tokens> tokens = data::tokenize_lines(sources);
    std::vector<std::size_t> order(sources.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return tokens[x].size() < tokens[y].size(); });
    DecodeOptions o;
    o.method = parse_decoding(a.method);
    o.beam_width = a.beam;
    o.length_penalty = a.length_penalty;
    o.no_repeat_ngram = a.no_repeat_ngram;
    std::vector<std::string> out(sources.size());
    for (std::size_t from = 0; from < order.size(); from += a.batch_size) {
        const std::size_t to = std::min(order.size(), from + a.batch_size);
        std::vector<data::Tokens> chunk;
        std::size_t longest = 0;
        for (std::size_t k = from; k < to; ++k) {
            chunk.push_back(tokens[order[k]]);
            longest = std::max(longest, tokens[order[k]].size());
        }
        data::Batch condition;
        condition.source = data::SentenceDataset(chunk, source_vocab, longest + 2).batch([&] {
            std::vector<std::size_t> rows(chunk.size());
            for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
            return rows;
        }());
        condition.rows = condition.source.rows;
        o.max_length = a.max_length ? a.max_length : 2 * longest + 10;
        Array z = Array::from_shape({chunk.size(), r.model->latent_size()});
        if (r.model->latent_size() > 0) {
            nn::EvalGuard eval(*r.model);
            autograd::NoGradGuard no_grad;
            z = r.model->prior(condition).loc.value();
        }
        const auto ids = decode(*r.model, z, o, condition);
        for (std::size_t k = from; k < to; ++k) {
            data::Tokens words;
            for (const std::int64_t id : ids[k - from]) words.push_back(target_vocab.word(id));
            out[order[k]] = data::detokenize(words);
        }
    }
    return out;
}

int translate_command(const TranslateArgs& a) {
    Run r = load_run(a.run_dir);
    require_kind(r, DataKind::parallel, "translate");
    if (a.method == "sample") throw Error("--method sample: translate decodes with greedy or beam");
    std::vector<std::string> sources, references;
    const json& d = r.meta["config"]["data"];
    if (!a.split.empty()) {
        const std::string folder = a.data_flag.empty() ? d.at("folder").get<std::string>() : a.data_flag;
        data::ParallelCorpus c = data::read_parallel_split(folder, a.split, d.value("source", std::string("en")),
                                                           d.value("target", std::string("es")));
        sources = std::move(c.source);
        references = std::move(c.target);
        if (a.n && a.n < sources.size()) {
            sources.resize(a.n);
            references.resize(a.n);
        }
    } else {
        if (a.n || a.examples || !a.json_out.empty())
            throw Error("--n, --examples and --json need --split (the sentences on stdin have no references)");
        sources = stdin_lines();
    }
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::string> hyps = translate(r, sources, a);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (a.split.empty()) {
        for (const auto& h : hyps) std::cout << h << '\n';
        return 0;
    }
    const std::string path = a.out.empty() ? (fs::path(a.run_dir) / ("translations." + a.split + ".txt")).string() : a.out;
    std::string text;
    for (const auto& h : hyps) text += h + "\n";
    nn::write_file_atomically(path, text);
    const eval::BleuScore bleu = eval::corpus_bleu(hyps, references);
    const eval::ChrfScore chrf = eval::corpus_chrf(hyps, references);
    for (std::size_t i = 0; i < std::min(a.examples, sources.size()); ++i)
        std::cout << "source:      " << sources[i] << "\nreference:   " << references[i] << "\ntranslation: " << hyps[i] << "\n\n";
    std::cout << "translated " << sources.size() << " sentences of the " << a.split << " split (" << a.method
              << (a.method == "beam" ? " " + std::to_string(a.beam) : "") << ") in " << std::fixed << std::setprecision(1)
              << seconds << " s: " << path << "\n"
              << bleu.format() << "\n"
              << chrf.format() << "\n";
    if (!a.json_out.empty()) {
        const json out = {{"model", r.type->name}, {"split", a.split}, {"sentences", sources.size()}, {"method", a.method},
                          {"beam", a.beam}, {"length_penalty", a.length_penalty}, {"no_repeat_ngram", a.no_repeat_ngram}, {"bleu", bleu.score},
                          {"chrf", chrf.score}, {"seconds", seconds}};
        nn::write_file_atomically(a.json_out, out.dump(1) + "\n");
    }
    return 0;
}

// The value of --model among the arguments (the train subcommand's flags depend on it).
std::string model_argument(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--model") return argv[i + 1];
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]).rfind("--model=", 0) == 0) return std::string(argv[i]).substr(8);
    return "text";
}

}  // namespace

namespace {
// Under mpirun, ranks other than 0 print nothing (their numbers are rank 0's);
// an error still reaches the terminal (Communicator::abort writes to stderr itself).
class QuietRanks {
public:
    explicit QuietRanks(bool quiet) : quiet_(quiet) {
        if (!quiet_) return;
        out_ = std::cout.rdbuf(&null_);
        err_ = std::cerr.rdbuf(&null_);
    }
    ~QuietRanks() {
        if (!quiet_) return;
        std::cout.rdbuf(out_);
        std::cerr.rdbuf(err_);
    }

private:
    struct Null : std::streambuf {
        int overflow(int c) override { return traits_type::not_eof(c); }
    } null_;
    bool quiet_;
    std::streambuf* out_ = nullptr;
    std::streambuf* err_ = nullptr;
};
}  // namespace

int run(int argc, char** argv) {
    nn::distributed::Communicator& group = nn::distributed::world();
    QuietRanks quiet(!group.root());
    std::string error;
    try {
        register_builtin_models();
        CLI::App app{"tapegrad-vae: train, evaluate and generate from latent-variable models (models: " + [] {
            std::string s;
            for (const auto& n : model_names()) s += (s.empty() ? "" : ", ") + n;
            return s;
        }() + ")"};
        app.require_subcommand(1);
        int threads = 0;
        app.add_option("--threads", threads,
                       "threads of tapegrad's pool, which computes products and the passes between them (0: one per core)")
            ->check(count_at_least(0));

        auto* train_cmd = app.add_subcommand("train", "train a model (checkpoints on the way and on Ctrl-C)");
        TrainArgs ta;
        ta.model = model_argument(argc, argv);
        const ModelType* type = nullptr;
        for (const auto& n : model_names())
            if (n == ta.model) type = &find_model(n);
        if (type && type->defaults) type->defaults(ta.opt);
        ta.anneal = schedule_name(ta.opt.kl.kind);
        add_train_flags(*train_cmd, ta, type);

        auto* eval_cmd = app.add_subcommand("eval", "evaluate a trained run: -ELBO, NLL, KL, IW NLL, perplexity, active units, I(x;z)");
        EvalArgs ea;
        eval_cmd->add_option("--run", ea.run_dir, "run folder")->required();
        eval_cmd->add_option("--data", ea.data_flag, "data folder (default: the one the run was trained on)");
        eval_cmd->add_option("--split", ea.split, "valid or test")->check(CLI::IsMember({"valid", "test"}))->capture_default_str();
        eval_cmd->add_option("--iw-k", ea.iw_k, "importance samples K (0: skip the IW estimate)")->check(count_at_least(0))->capture_default_str();
        eval_cmd->add_option("--iw-n", ea.iw_n, "examples for the IW estimate")->check(count_at_least(1))->capture_default_str();
        eval_cmd->add_option("--batch-size", ea.batch_size, "examples per evaluation batch")->check(count_at_least(1))->capture_default_str();
        eval_cmd->add_option("--json", ea.json_out, "also write the numbers to this JSON file");
        eval_cmd->add_option("--seed", ea.seed, "seed of the z samples")->check(count_at_least(0))->capture_default_str();

        GenerateArgs ga;
        auto generation_flags = [&](CLI::App* c, const std::string& n_help) {
            c->add_option("--run", ga.run_dir, "run folder")->required();
            if (!n_help.empty()) c->add_option("--n", ga.n, n_help)->check(count_at_least(1));
            c->add_option("--method", ga.method, "greedy, sample or beam")->check(CLI::IsMember({"greedy", "sample", "beam"}))
                ->capture_default_str();
            c->add_option("--temperature", ga.temperature, "sampling temperature")->check(positive())->capture_default_str();
            c->add_option("--beam", ga.beam, "beam width")->check(count_at_least(1))->capture_default_str();
            c->add_option("--seed", ga.seed, "seed of z")->check(count_at_least(0))->capture_default_str();
            c->add_option("--no-repeat-ngram", ga.no_repeat_ngram, "sentences: no n-gram of this size occurs twice (0: no limit)")
                ->check(count_at_least(0))->capture_default_str();
        };
        auto* sample_cmd = app.add_subcommand("sample", "generate from the prior z ~ N(0, I)");
        generation_flags(sample_cmd, "how many (5 sentences, 64 images, 10 per class for a conditional model)");
        sample_cmd->add_option("--out", ga.out_png, "images: PNG grid path (default <run>/samples.png)");
        sample_cmd->add_flag("--timing", ga.timing, "sentences: also print the decoding's time and rate on stderr");
        auto* interp_cmd = app.add_subcommand("interpolate", "decode points on the line between two sentences' codes (homotopy)");
        generation_flags(interp_cmd, "");  // no --n: --steps says how many points
        interp_cmd->add_option("--from", ga.from, "first sentence (default: a random z from the prior)");
        interp_cmd->add_option("--to", ga.to, "second sentence (default: a random z from the prior)");
        interp_cmd->add_option("--steps", ga.steps, "points, endpoints included")->check(count_at_least(2))->capture_default_str();
        auto* recon_cmd = app.add_subcommand("reconstruct", "encode sentences (or test images) and decode them again");
        generation_flags(recon_cmd, "how many test examples when no sentence is given (5 sentences, 16 images)");
        recon_cmd->add_option("sentences", ga.sentences, "sentences to reconstruct (default: the first test sentences)");
        recon_cmd->add_option("--data", ga.data_flag, "data folder (default: the one the run was trained on)");
        recon_cmd->add_option("--out", ga.out_png, "images: PNG path (default <run>/reconstructions.png)");

        auto* translate_cmd = app.add_subcommand(
            "translate", "translate sentences with a translation model: stdin to stdout, or a split scored with BLEU and chrF");
        TranslateArgs tra;
        translate_cmd->add_option("--run", tra.run_dir, "run folder of a translation model")->required();
        translate_cmd->add_option("--split", tra.split, "translate this split's source side and score it against its target side")
            ->check(CLI::IsMember({"train", "valid", "test"}));
        translate_cmd->add_option("--data", tra.data_flag, "data folder for --split (default: the one the run was trained on)");
        translate_cmd->add_option("--n", tra.n, "with --split: only its first N sentences")->check(count_at_least(1));
        translate_cmd->add_option("--method", tra.method, "greedy or beam")->check(CLI::IsMember({"greedy", "beam"}))
            ->capture_default_str();
        translate_cmd->add_option("--beam", tra.beam, "beam width")->check(count_at_least(1))->capture_default_str();
        translate_cmd->add_option("--length-penalty", tra.length_penalty,
                                  "beam: rank finished translations by log p / length^this (0: no normalisation)")
            ->check(at_least(0))->capture_default_str();
        translate_cmd->add_option("--max-length", tra.max_length, "tokens per translation, </s> included (0: twice the source's, plus 10)")
            ->check(count_at_least(0))->capture_default_str();
        translate_cmd->add_option("--no-repeat-ngram", tra.no_repeat_ngram, "no n-gram of this size occurs twice in a translation (0: no limit)")
            ->check(count_at_least(0))->capture_default_str();
        translate_cmd->add_option("--batch-size", tra.batch_size, "sentences decoded together")->check(count_at_least(1))
            ->capture_default_str();
        translate_cmd->add_option("--out", tra.out, "with --split: where the translations go (default <run>/translations.<split>.txt)");
        translate_cmd->add_option("--examples", tra.examples, "with --split: also print the first N sources, references and translations")
            ->check(count_at_least(0));
        translate_cmd->add_option("--json", tra.json_out, "with --split: also write the scores to this JSON file");

        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e);
        }
        if (*train_cmd && !type) find_model(ta.model);  // an unknown --model: the error lists the known ones
        autograd::set_num_threads(threads > 0 ? threads : kernels::num_threads());
        for (CLI::App* c : {sample_cmd, recon_cmd})  // (interpolate has no --n)
            if (*c) {
                ga.n_given = c->count("--n") > 0;
                for (const char* flag : {"--method", "--temperature", "--beam", "--no-repeat-ngram"})
                    if (c->count(flag) > 0) ga.decoding_flags_given.push_back(flag);
            }
        if (*train_cmd) return train_command(ta, *type);
        if (*eval_cmd) return eval_command(ea);
        if (group.size() > 1)
            throw Error(std::string("only train and eval run on several ranks (docs/distributed.md); run ") +
                        app.get_subcommands().front()->get_name() + " without mpirun");
        if (*sample_cmd) return sample_command(ga);
        if (*interp_cmd) return interpolate_command(ga);
        if (*translate_cmd) return translate_command(tra);
        return reconstruct_command(ga);
    } catch (const Error& e) {
        error = std::string("error: ") + e.what();
    } catch (const json::exception& e) {
        error = std::string("error: malformed run metadata: ") + e.what();
    } catch (const fs::filesystem_error& e) {
        error = std::string("error: ") + e.what();
    } catch (const std::bad_alloc&) {
        error = "error: out of memory";
    } catch (const std::exception& e) {
        error = std::string("error: ") + e.what();
    }
    // One rank's error ends them all: the others would wait for it forever.
    if (group.size() > 1) group.abort(error);
    std::cerr << error << '\n';
    return 1;
}

}  // namespace tapegrad::models::cli
