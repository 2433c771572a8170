// tapegrad-vae's subcommands, run in-process (cli::run) on tiny data: any corpus
// by folder and file pattern, every subcommand on a registered model, the data set
// recorded in the checkpoint, and the errors that used to be silent.
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "models/cli/cli.hpp"
#include "models/cli/registry.hpp"
#include "models/vae/sentence_vae.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::models;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("tapegrad_cli_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

// Runs tapegrad-vae with these arguments; returns the exit status, with what it
// printed on stdout and stderr.
struct Output {
    int status = 0;
    std::string out, err;
};
Output tapegrad_vae(std::vector<std::string> args) {
    args.insert(args.begin(), "tapegrad-vae");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::ostringstream out, err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    Output o;
    o.status = models::cli::run(static_cast<int>(argv.size()), argv.data());
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    o.out = out.str();
    o.err = err.str();
    return o;
}

// A corpus of counting sentences in three files named <name>.<split>.txt.
fs::path tiny_corpus() {
    const fs::path dir = scratch("corpus");
    fs::create_directories(dir);
    for (const char* split : {"train", "valid", "test"}) {
        std::ofstream f(dir / (std::string("toy.") + split + ".txt"));
        for (int i = 0; i < 24; ++i) {
            for (int k = 0; k < 2 + i % 4; ++k) f << (k ? " " : "") << "w" << (i + k) % 7;
            f << "\n";
        }
    }
    return dir;
}

void put32(std::string& s, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
void write_gz(const fs::path& p, const std::string& bytes) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}
// An MNIST-style folder of 4 x 4 images: `bright` sets how light they are, so two
// such folders are told apart by what a model makes of them.
fs::path tiny_images(const std::string& name, int bright) {
    const fs::path dir = scratch(name);
    fs::create_directories(dir);
    for (auto [prefix, count] : {std::pair<const char*, std::uint32_t>{"train", 40}, {"t10k", 20}}) {
        std::string images, labels;
        put32(images, 0x803), put32(images, count), put32(images, 4), put32(images, 4);
        put32(labels, 0x801), put32(labels, count);
        for (std::uint32_t i = 0; i < count; ++i) {
            for (int p = 0; p < 16; ++p) images += static_cast<char>(((i + p) % 2) * bright);
            labels += static_cast<char>(i % 3);
        }
        write_gz(dir / (std::string(prefix) + "-images-idx3-ubyte.gz"), images);
        write_gz(dir / (std::string(prefix) + "-labels-idx1-ubyte.gz"), labels);
    }
    return dir;
}

}  // namespace

TEST_CASE("cli: a text model on any corpus (--data, --files), then eval, sample, interpolate and reconstruct") {
    const fs::path corpus = tiny_corpus(), run = scratch("text_run");
    fs::remove_all(run);
    const Output t = tapegrad_vae({"--threads", "1", "train", "--model", "text", "--data", corpus.string(), "--files",
                                   "toy.{split}.txt", "--min-count", "1", "--embed", "8", "--hidden", "8", "--latent", "2",
                                   "--batch-size", "8", "--epochs", "2", "--no-progress", "--run", run.string()});
    INFO(t.err);
    REQUIRE(t.status == 0);
    const auto meta = vae::read_run_meta(run.string());
    CHECK(meta["model"] == "text");
    CHECK(meta["config"]["data"]["files"] == "toy.{split}.txt");
    CHECK(meta["config"]["data"]["vocabulary"].size() == 4 + 7);
    const Output e = tapegrad_vae({"eval", "--run", run.string(), "--iw-k", "3", "--iw-n", "5"});
    CHECK(e.status == 0);
    CHECK(e.out.find("valid") == std::string::npos);
    CHECK(e.out.find("test split: 24 sentences") != std::string::npos);
    const Output v = tapegrad_vae({"eval", "--run", run.string(), "--split", "valid", "--iw-k", "0"});
    CHECK(v.out.find("valid split: 24 sentences") != std::string::npos);
    const Output s = tapegrad_vae({"sample", "--run", run.string(), "--n", "3", "--method", "beam"});
    CHECK(s.status == 0);
    CHECK(std::count(s.out.begin(), s.out.end(), '\n') == 3);
    const Output i = tapegrad_vae({"interpolate", "--run", run.string(), "--from", "w1 w2", "--to", "zzz", "--steps", "3"});
    CHECK(i.status == 0);
    CHECK(i.err.find("no word of \"zzz\" is in the vocabulary") != std::string::npos);
    const Output in = tapegrad_vae({"interpolate", "--run", run.string(), "--n", "3"});  // --steps sets the points
    CHECK(in.status != 0);
    CHECK(in.err.find("--n") != std::string::npos);
    const Output r = tapegrad_vae({"reconstruct", "--run", run.string(), "w3 w4 w5"});
    CHECK(r.out.find("input: w3 w4 w5") != std::string::npos);
    // Hot sampling repeats words; --no-repeat-ngram 1 lets no word occur twice in a sample.
    auto samples_repeating_a_word = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args = {"sample", "--run", run.string(), "--n", "20", "--method", "sample", "--temperature", "5"};
        args.insert(args.end(), extra.begin(), extra.end());
        const Output o = tapegrad_vae(args);
        CHECK(o.status == 0);
        std::istringstream lines(o.out);
        std::size_t repeating = 0;
        for (std::string line; std::getline(lines, line);) {
            std::istringstream words(line);
            std::set<std::string> seen;
            bool twice = false;
            for (std::string w; words >> w;) twice = !seen.insert(w).second || twice;
            repeating += twice;
        }
        return repeating;
    };
    CHECK(samples_repeating_a_word({}) > 0);
    CHECK(samples_repeating_a_word({"--no-repeat-ngram", "1"}) == 0);
}

TEST_CASE("cli: an MNIST run is evaluated on what it was trained on, and an image set has no validation split") {
    const fs::path light = tiny_images("light", 255), dark = tiny_images("dark", 40), run = scratch("image_run");
    fs::remove_all(run);
    const Output t = tapegrad_vae({"--threads", "1", "train", "--model", "image", "--dataset", "mnist", "--data",
                                   light.string(), "--hidden", "8", "--latent", "2", "--batch-size", "10", "--epochs",
                                   "1", "--no-progress", "--run", run.string()});
    INFO(t.err);
    REQUIRE(t.status == 0);
    const auto meta = vae::read_run_meta(run.string());
    CHECK(meta["config"]["data"]["dataset"] == "mnist");
    CHECK(meta["config"]["data"]["folder"] == light.string());
    // The run's own data (no --data) and the other set give different numbers.
    const Output own = tapegrad_vae({"eval", "--run", run.string(), "--iw-k", "0"});
    const Output other = tapegrad_vae({"eval", "--run", run.string(), "--iw-k", "0", "--data", dark.string()});
    CHECK(own.status == 0);
    CHECK(own.out != other.out);
    const Output valid = tapegrad_vae({"eval", "--run", run.string(), "--split", "valid"});
    CHECK(valid.status == 1);
    CHECK(valid.err.find("no validation split") != std::string::npos);
    const Output samples = tapegrad_vae({"sample", "--run", run.string(), "--n", "4"});
    CHECK(samples.status == 0);
    CHECK(fs::exists(run / "samples.png"));
    CHECK(fs::exists(run / "manifold.png"));  // a 2-D latent space
    const Output nr = tapegrad_vae({"sample", "--run", run.string(), "--no-repeat-ngram", "2"});
    CHECK(nr.status != 0);
    CHECK(nr.err.find("--no-repeat-ngram applies to sentences; model 'image' generates images") != std::string::npos);
    const Output beam = tapegrad_vae({"reconstruct", "--run", run.string(), "--method", "beam"});
    CHECK(beam.status != 0);
    CHECK(beam.err.find("--method applies to sentences; model 'image' generates images") != std::string::npos);
    const Output hot = tapegrad_vae({"sample", "--run", run.string(), "--temperature", "2"});
    CHECK(hot.status != 0);
    CHECK(hot.err.find("--temperature applies to sentences") != std::string::npos);
}

TEST_CASE("cli: bad flags, folders and checkpoints are errors that name the problem") {
    const fs::path corpus = tiny_corpus(), run = scratch("flags_run"), file = scratch("a_file");
    std::ofstream(file) << "x";
    fs::remove_all(run);
    auto fails = [](const std::vector<std::string>& args, const std::string& says) {
        const Output o = tapegrad_vae(args);
        INFO(o.err);
        CHECK(o.status != 0);
        CHECK(o.err.find(says) != std::string::npos);
    };
    fails({"train", "--run", file.string()}, "is a file, not a folder");
    fails({"train", "--model", "nope"}, "unknown model 'nope'");
    fails({"train", "--batch-size", "-1"}, "-1 is not a whole number >= 1");
    fails({"train", "--lr", "nan"}, "'nan' is not a finite number");
    fails({"train", "--epochs", "0"}, "0 is not a whole number >= 1");
    fails({"train", "--max-length", "1"}, "1 is not a whole number >= 2");
    fails({"train", "--word-dropout", "-1"}, "-1 is not a probability in [0, 1)");
    fails({"train", "--kl-weight", "inf"}, "'inf' is not a finite number");
    fails({"--threads", "-3", "train"}, "-3 is not a whole number >= 0");
    const std::vector<std::string> base = {"--threads", "1", "train", "--data", corpus.string(), "--files",
                                           "toy.{split}.txt", "--min-count", "1", "--embed", "8", "--hidden", "8",
                                           "--latent", "2", "--batch-size", "8", "--max-steps", "3", "--no-progress",
                                           "--no-validate", "--run", run.string()};
    REQUIRE(tapegrad_vae(base).status == 0);
    fails(base, "holds a run already");
    auto resume = base;
    *std::find(resume.begin(), resume.end(), "--hidden") = "--embed-unused";  // drop --hidden 8 ...
    resume.erase(std::find(resume.begin(), resume.end(), "--embed-unused"), std::find(resume.begin(), resume.end(), "--embed-unused") + 2);
    resume.insert(resume.end(), {"--resume", "--hidden", "9", "--seed", "4"});  // ... and ask for 9
    fails(resume, "--hidden 9: the checkpoint has 8");
    fails(resume, "--seed 4: the checkpoint has 1");
    fails({"sample", "--run", run.string(), "--n", "0"}, "0 is not a whole number >= 1");
    fails({"sample", "--run", run.string(), "--beam", "0"}, "0 is not a whole number >= 1");
    fails({"eval", "--run", scratch("nowhere").string()}, "no checkpoint at");
    fails({"train", "--model", "image", "--run", run.string(), "--resume"}, "holds a run of model 'text', not of 'image'");
    fails({"train", "--data", corpus.string(), "--files", "toy.txt"}, "the pattern must contain {split}");
}

TEST_CASE("cli: a resumed run keeps the training options it was started with, flags not repeated") {
    models::cli::register_builtin_models();
    const fs::path corpus = tiny_corpus(), run = scratch("resume_options_run");
    fs::remove_all(run);
    const std::vector<std::string> common = {"--threads", "1", "train", "--run", run.string(), "--no-progress",
                                             "--no-validate", "--log-every", "1"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = common;
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    };
    const Output first = tapegrad_vae(with({"--data", corpus.string(), "--files", "toy.{split}.txt", "--min-count", "1",
                                            "--embed", "8", "--hidden", "8", "--latent", "2", "--batch-size", "4",
                                            "--anneal", "constant", "--kl-weight", "0.5", "--lr", "0.01", "--seed",
                                            "7", "--max-steps", "2"}));
    INFO(first.err);
    REQUIRE(first.status == 0);
    const Output resumed = tapegrad_vae(with({"--resume", "--max-steps", "4"}));  // no training flag repeated
    INFO(resumed.err);
    REQUIRE(resumed.status == 0);
    const nlohmann::json options = vae::read_run_meta(run.string())["train"]["options"];
    CHECK(options["kl_schedule"] == "constant");
    CHECK(options["kl_weight"].get<double>() == doctest::Approx(0.5));
    CHECK(options["lr"].get<double>() == doctest::Approx(0.01));
    CHECK(options["batch_size"] == 4);
    CHECK(options["seed"] == 7);
    std::ifstream metrics(run / "metrics.jsonl");
    int steps = 0;
    for (std::string line; std::getline(metrics, line);) {
        const nlohmann::json j = nlohmann::json::parse(line);
        if (j["type"] != "step") continue;
        ++steps;
        INFO("step " << j["step"]);
        CHECK(j["kl_weight"].get<double>() == doctest::Approx(0.5));  // the default schedule would give ~0.002
    }
    CHECK(steps == 4);
}

TEST_CASE("cli: a model registered by a program of its own gets every subcommand") {
    models::cli::register_builtin_models();
    models::cli::ModelType t = models::cli::find_model("text");
    t.name = "test-text";
    t.description = "the text model under another name";
    models::cli::register_model(t);
    CHECK_THROWS_WITH_AS(models::cli::register_model(t), doctest::Contains("registered already"), Error);
    const fs::path corpus = tiny_corpus(), run = scratch("own_run");
    fs::remove_all(run);
    const Output o = tapegrad_vae({"--threads", "1", "train", "--model", "test-text", "--data", corpus.string(), "--files",
                                   "toy.{split}.txt", "--min-count", "1", "--embed", "8", "--hidden", "8", "--latent",
                                   "2", "--max-steps", "4", "--no-progress", "--no-validate", "--run", run.string()});
    INFO(o.err);
    REQUIRE(o.status == 0);
    CHECK(vae::read_run_meta(run.string())["model"] == "test-text");
    CHECK(tapegrad_vae({"sample", "--run", run.string(), "--n", "2"}).status == 0);
    const Output help = tapegrad_vae({"train", "--model", "test-text", "--help"});
    CHECK(help.out.find("--embedding-dropout") != std::string::npos);
}

namespace {
// Sentence pairs in <dir>/{train,valid,test}.{src,tgt}: each target word is its
// source word with "x" in front, so a model can learn the pairs.
fs::path tiny_pairs() {
    const fs::path dir = scratch("pairs");
    fs::create_directories(dir);
    for (const char* split : {"train", "valid", "test"}) {
        std::ofstream src(dir / (std::string(split) + ".src")), tgt(dir / (std::string(split) + ".tgt"));
        for (int i = 0; i < 20; ++i) {
            for (int k = 0; k < 2 + i % 3; ++k) {
                src << (k ? " " : "") << "w" << (i + k) % 5;
                tgt << (k ? " " : "") << "xw" << (i + k) % 5;
            }
            src << ".\n";
            tgt << ".\n";
        }
    }
    return dir;
}

// tapegrad_vae with `input` on stdin.
Output with_stdin(const std::string& input, std::vector<std::string> args) {
    std::istringstream in(input);
    auto* old_in = std::cin.rdbuf(in.rdbuf());
    Output o = tapegrad_vae(std::move(args));
    std::cin.rdbuf(old_in);
    return o;
}
}  // namespace

TEST_CASE("cli: translation models train, evaluate, translate stdin and score a split; other subcommands refuse them") {
    const fs::path pairs = tiny_pairs();
    for (bool variational : {false, true}) {
        CAPTURE(variational);
        const fs::path run = scratch(variational ? "vnmt_run" : "translate_run");
        fs::remove_all(run);
        std::vector<std::string> args = {"--threads", "1", "train", "--model", "translate", "--data", pairs.string(),
                                         "--source", "src", "--target", "tgt", "--min-count", "1", "--embed", "6",
                                         "--hidden", "5", "--latent", "2", "--batch-size", "8", "--epochs", "2",
                                         "--no-progress", "--run", run.string()};
        if (variational) args.push_back("--variational");
        const Output t = tapegrad_vae(args);
        INFO(t.err);
        REQUIRE(t.status == 0);
        const auto meta = vae::read_run_meta(run.string());
        CHECK(meta["config"]["data"]["source_vocabulary"].size() == 4 + 6);  // w0..w4 and "."
        CHECK(meta["config"]["data"]["vocabulary"].size() == 4 + 6);
        CHECK(meta["config"]["variational"] == variational);

        const Output e = tapegrad_vae({"eval", "--run", run.string(), "--iw-k", "3", "--iw-n", "4"});
        INFO(e.err);
        CHECK(e.status == 0);
        CHECK(e.out.find("test split: 20 sentence pairs") != std::string::npos);
        CHECK((e.out.find("no latent variable") != std::string::npos) == !variational);
        CHECK((e.out.find("IW NLL") != std::string::npos) == variational);

        const Output s = with_stdin("w1 w2.\nw3 w4 w0.\n", {"translate", "--run", run.string(), "--method", "greedy"});
        INFO(s.err);
        CHECK(s.status == 0);
        CHECK(std::count(s.out.begin(), s.out.end(), '\n') == 2);
        const Output b = with_stdin("w1 w2.\n", {"translate", "--run", run.string(), "--beam", "3", "--max-length", "4"});
        CHECK(b.status == 0);
        CHECK(std::count(b.out.begin(), b.out.end(), ' ') <= 3);  // at most 3 tokens before </s>

        const fs::path json = run / "scores.json";
        const Output sp = tapegrad_vae({"translate", "--run", run.string(), "--split", "test", "--n", "7", "--examples", "2",
                                        "--json", json.string()});
        INFO(sp.err);
        CHECK(sp.status == 0);
        CHECK(sp.out.find("translated 7 sentences of the test split (beam 5)") != std::string::npos);
        CHECK(sp.out.find("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|impl:tapegrad = ") != std::string::npos);
        CHECK(sp.out.find("chrF2|") != std::string::npos);
        CHECK(std::count(sp.out.begin(), sp.out.end(), '\n') >= 2 * 4 + 3);
        const std::string hyps = [&] {
            std::ifstream f(run / "translations.test.txt");
            return std::string(std::istreambuf_iterator<char>(f), {});
        }();
        CHECK(std::count(hyps.begin(), hyps.end(), '\n') == 7);
        std::ifstream jf(json);
        const auto scores = nlohmann::json::parse(jf);
        CHECK(scores["sentences"] == 7);
        CHECK(scores["bleu"].get<double>() >= 0.0);

        const Output sample = tapegrad_vae({"sample", "--run", run.string()});
        CHECK(sample.status != 0);
        CHECK(sample.err.find("use tapegrad-vae translate") != std::string::npos);
        const Output interp = tapegrad_vae({"interpolate", "--run", run.string()});
        CHECK(interp.status != 0);
        CHECK(interp.err.find("interpolate works on text models") != std::string::npos);
        const Output no_split = with_stdin("w1.\n", {"translate", "--run", run.string(), "--n", "3"});
        CHECK(no_split.status != 0);
        CHECK(no_split.err.find("need --split") != std::string::npos);
        const Output bad_utf8 = with_stdin("w1\xff.\n", {"translate", "--run", run.string()});
        CHECK(bad_utf8.status != 0);
        CHECK(bad_utf8.err.find("stdin line 1: not UTF-8") != std::string::npos);
    }
    const Output same = tapegrad_vae({"train", "--model", "translate", "--data", pairs.string(), "--source", "src",
                                      "--target", "src", "--run", scratch("same_lang").string()});
    CHECK(same.status != 0);
    CHECK(same.err.find("--source and --target are both 'src'") != std::string::npos);
    const Output posterior = tapegrad_vae({"train", "--model", "translate", "--data", pairs.string(), "--source", "src",
                                           "--target", "tgt", "--posterior", "embeddings", "--run", scratch("posterior").string()});
    CHECK(posterior.status != 0);
    CHECK(posterior.err.find("--posterior requires --variational") != std::string::npos);
}
