#include "models/vae/train.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "autograd/autograd.hpp"
#include "autograd/kernels/simd.hpp"
#include "models/vae/evaluate.hpp"
#include "nn/checkpoint.hpp"
#include "nn/npz.hpp"
#include "nn/optim.hpp"

namespace tapegrad::models::vae {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};
extern "C" void on_signal(int s) {
    stop_signal = s;
    stop_requested = true;
}

// Installs the Ctrl-C handler for the loop's lifetime and restores the old one.
class SignalScope {
public:
    SignalScope() {
        stop_requested = false;
        stop_signal = 0;
        old_int_ = std::signal(SIGINT, on_signal);
        old_term_ = std::signal(SIGTERM, on_signal);
    }
    ~SignalScope() {
        std::signal(SIGINT, old_int_);
        std::signal(SIGTERM, old_term_);
    }

private:
    void (*old_int_)(int);
    void (*old_term_)(int);
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string clock_text(double s) {
    const long t = static_cast<long>(s + 0.5);
    std::ostringstream os;
    if (t >= 3600) os << t / 3600 << ':' << std::setw(2) << std::setfill('0') << (t / 60) % 60 << ':';
    else os << (t / 60) << ':';
    os << std::setw(2) << std::setfill('0') << t % 60;
    return os.str();
}

// A one-line bar redrawn with '\r' on a terminal.
class Progress {
public:
    explicit Progress(bool on) : on_(on && ::isatty(STDERR_FILENO)) {}
    bool active() const { return on_; }
    void draw(std::size_t epoch, std::size_t epochs, std::size_t done, std::size_t total, double rate, double loss,
              double recon, double kl, float beta, const std::string& unit) {
        if (!on_) return;
        const int width = 24;
        const int filled = total ? static_cast<int>(width * done / total) : 0;
        std::ostringstream os;
        os << "\repoch " << epoch << '/' << epochs << " [" << std::string(filled, '=') << (filled < width ? ">" : "")
           << std::string(std::max(0, width - filled - 1), ' ') << "] " << done << '/' << total << ' ' << std::fixed
           << std::setprecision(1) << rate << " step/s ETA " << clock_text(rate > 0 ? (total - done) / rate : 0)
           << std::setprecision(2) << " | loss " << loss << " nll " << recon << " kl " << kl << " w " << std::setprecision(3)
           << beta << unit << "   ";
        std::cerr << os.str() << std::flush;
    }
    void finish() {
        if (on_) std::cerr << '\n';
    }

private:
    bool on_;
};

struct Running {
    double loss = 0, recon = 0, kl = 0;
    std::size_t examples = 0, steps = 0, items = 0;
    double ms = 0;
    // A step's sums over its batch: loss * examples, NLL, KL, examples, items.
    void add(const double (&sums)[5], double step_ms) {
        loss += sums[0];
        recon += sums[1];
        kl += sums[2];
        examples += static_cast<std::size_t>(sums[3]);
        items += static_cast<std::size_t>(sums[4]);
        ms += step_ms;
        ++steps;
    }
    json state() const { return {{"loss", loss}, {"recon", recon}, {"kl", kl}, {"examples", examples}, {"steps", steps}, {"items", items}, {"ms", ms}}; }
    void restore(const json& j) {
        loss = j.at("loss");
        recon = j.at("recon");
        kl = j.at("kl");
        examples = j.at("examples");
        steps = j.at("steps");
        items = j.at("items");
        ms = j.at("ms");
    }
    json summary() const {
        const double n = std::max<std::size_t>(1, examples);
        return {{"loss", loss / n}, {"recon", recon / n}, {"kl", kl / n}, {"neg_elbo", (recon + kl) / n}};
    }
};

json options_json(const TrainOptions& o) {
    return {{"epochs", o.epochs},
            {"batch_size", o.batch_size},
            {"lr", o.lr},
            {"lr_warmup", o.lr_warmup},
            {"clip_norm", o.clip_norm},
            {"kl_schedule", schedule_name(o.kl.kind)},
            {"kl_weight", o.kl.weight},
            {"kl_k", o.kl.k},
            {"kl_x0", o.kl.x0},
            {"kl_warmup", o.kl.warmup},
            {"kl_cycle", o.kl.cycle},
            {"kl_ratio", o.kl.ratio},
            {"free_bits", o.free_bits},
            {"seed", o.seed}};
}

// Keeps only metrics lines up to `step` (a run killed after its last checkpoint
// may have logged beyond it; the resumed run logs those steps again).
void trim_metrics(const fs::path& path, long step) {
    if (!fs::exists(path)) return;
    std::ifstream in(path);
    std::string kept, line;
    while (std::getline(in, line)) {
        try {
            const json j = json::parse(line);
            if (j.value("step", 0L) > step) continue;
        } catch (const json::exception&) {
            continue;  // a torn last line
        }
        kept += line + '\n';
    }
    nn::write_file_atomically(path.string(), kept);
}

}  // namespace

double TrainResult::median_step_ms() const {
    if (step_ms.empty()) return 0.0;
    std::vector<double> v = step_ms;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

void check_run_folder(const std::string& run_dir, bool resume, bool overwrite) {
    if (run_dir.empty()) return;
    const fs::path dir = run_dir, ckpt = dir / "checkpoint.npz";
    if (fs::exists(dir) && !fs::is_directory(dir)) throw Error("run folder " + run_dir + " is a file, not a folder");
    if (resume && !fs::exists(ckpt)) throw Error("--resume: no checkpoint at " + ckpt.string());
    if (!resume && !overwrite && fs::exists(ckpt))
        throw Error(run_dir + " holds a run already (" + ckpt.string() +
                    "): continue it with --resume, replace it with --overwrite, or pick another --run folder");
}

namespace {
// An exclusive lock on a run folder for the life of a training (flock on
// <run>/.lock): a second trainer of the same folder fails at once, naming the
// process that holds it.
class FolderLock {
public:
    explicit FolderLock(const fs::path& dir) {
        const std::string path = (dir / ".lock").string();
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
        if (fd_ < 0) throw Error("cannot create " + path + ": " + std::strerror(errno));
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            char holder[32] = {};
            const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
            ::close(fd_);
            throw Error("run folder " + dir.string() + " is in use by another training (process " +
                        (n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : std::string("?")) + ")");
        }
        const std::string pid = std::to_string(::getpid());
        if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) { /* the lock holds regardless */ }
    }
    ~FolderLock() {
        ::flock(fd_, LOCK_UN);
        ::close(fd_);
    }
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int fd_ = -1;
};

// Temporary files of checkpoints whose writing was cut short (a kill, a full disk).
void remove_stale_temporaries(const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().filename().string().find(".tmp") != std::string::npos) fs::remove(entry.path());
}
}  // namespace

json read_run_meta(const std::string& run_dir) {
    const std::string path = (fs::path(run_dir) / "checkpoint.npz").string();
    try {
        return json::parse(nn::read_checkpoint_meta(path));
    } catch (const json::exception& e) {
        throw Error(path + ": the metadata record is not valid JSON (" + e.what() + ")");
    }
}

namespace {
TrainResult train_steps(LatentVariableModel& model, const data::Dataset& train_data, const data::Dataset* valid,
                        const RunRecord& record, const TrainOptions& o) {
    if (train_data.size() == 0) throw Error("train: the training data has no examples");
    if (o.batch_size == 0) throw Error("train: the batch size must be at least 1");
    // Data parallelism (nn/distributed.hpp): every rank runs this loop on its rows
    // of each batch; rank 0 alone writes checkpoints, metrics and the progress bar.
    nn::distributed::Solo alone;
    nn::distributed::Communicator& group = o.group ? *o.group : alone;
    const int ranks = group.size();
    const bool root = group.root();
    nn::Adam optimizer(model.parameters(), {.lr = o.lr});
    // Without clipping, each parameter is updated during backward() as soon as its
    // gradient is complete (same numbers, far less memory); clipping needs them all,
    // and so do several ranks, which sum them first.
    const bool update_in_sweep = o.clip_norm <= 0.0f && ranks == 1;
    if (update_in_sweep) optimizer.update_during_backward();
    std::unique_ptr<nn::distributed::GradientReducer> reducer;
    if (ranks > 1) reducer = std::make_unique<nn::distributed::GradientReducer>(model.parameters(), group);
    TrainResult result;
    const fs::path dir = o.run_dir;
    const fs::path ckpt = dir / "checkpoint.npz", metrics_path = dir / "metrics.jsonl";
    check_run_folder(o.run_dir, o.resume, o.overwrite);
    std::unique_ptr<FolderLock> lock;
    if (!o.run_dir.empty() && root) {
        fs::create_directories(dir);
        lock = std::make_unique<FolderLock>(dir);
        remove_stale_temporaries(dir);
        if (!o.resume) {  // a fresh run (with --overwrite): nothing of an earlier run is kept
            fs::remove(ckpt);
            fs::remove(metrics_path);
        }
    }

    // Where to start: a fresh run, or the position a checkpoint recorded.
    long step = 0;
    std::size_t epoch = 0, batch_at = 0;
    json partial_epoch;  // the running sums of an epoch interrupted mid-way
    autograd::manual_seed(o.seed);
    if (o.resume) {
        if (o.run_dir.empty() || !fs::exists(ckpt)) throw Error("--resume: no checkpoint at " + ckpt.string());
        const json meta = read_run_meta(o.run_dir);
        // The record is valid JSON but may still lack a field or hold the wrong kind
        // of value: that is a damaged checkpoint too, not a json::exception to escape.
        try {
            if (meta.value("model", "") != record.model)
                throw Error(ckpt.string() + " holds a run of model '" + meta.value("model", "?") + "', not of '" +
                            record.model + "'");
            nn::load_checkpoint(ckpt.string(), model, &optimizer);
            const json& t = meta.at("train");
            if (t.at("step").get<long>() < 0 || t.at("epoch").get<long>() < 0 || t.at("batch").get<long>() < 0)
                throw Error(ckpt.string() + ": the metadata record has a negative step, epoch or batch");
            step = t.at("step");
            epoch = t.at("epoch");
            batch_at = t.at("batch");
            autograd::generator().set_state(t.at("rng"));
            result.history = t.value("history", json::array());
            partial_epoch = t.value("epoch_sums", json());
        } catch (const json::exception& e) {
            throw Error(ckpt.string() + ": the metadata record does not describe a run to resume (" + e.what() + ")");
        }
        if (root) trim_metrics(metrics_path, step);
        if (root) std::cerr << "resuming " << ckpt.string() << " at step " << step << " (epoch " << epoch + 1 << ", batch " << batch_at
                  << ")\n";
    }
    std::ofstream metrics;
    if (!o.run_dir.empty() && root) metrics.open(metrics_path, o.resume ? std::ios::app : std::ios::trunc);
    // The warm-up sets the learning rate of each update from the steps taken so far.
    std::unique_ptr<nn::LinearWarmup> warmup;
    if (o.lr_warmup > 0) warmup = std::make_unique<nn::LinearWarmup>(optimizer, o.lr_warmup, step);

    Running run;  // sums over the current epoch
    long saved_step = o.resume ? step : -1;  // the step of the checkpoint on disk (-1: none)
    // Why there is nothing to save: a parameter is not finite (then the checkpoint
    // on disk, the last good one, is kept).
    auto diverged = [&](const std::string& what) {
        const std::string kept = saved_step < 0 ? std::string("no checkpoint was written")
                                                : "the last good checkpoint, " + ckpt.string() + " (step " +
                                                      std::to_string(saved_step) + "), is kept";
        return Error("training diverged at step " + std::to_string(step) + ": " + what + "; " + kept +
                     ". Rerun from it with --detect-anomaly to name the first op that made a NaN or infinity, "
                     "or with a smaller --lr or a --clip");
    };
    auto save = [&](std::size_t at_epoch, std::size_t at_batch) {
        if (o.run_dir.empty()) return;
        for (const auto& [name, p] : model.named_parameters())
            if (!kernels::all_finite(p.value().data(), p.value().size()))
                throw diverged("parameter " + name + " holds NaN or infinite values");
        if (!root) return;  // the same parameters on every rank: one writes them
        json meta = {{"model", record.model}, {"config", record.config}};
        meta["train"] = {{"step", step},
                         {"epoch", at_epoch},
                         {"batch", at_batch},
                         {"rng", autograd::generator().state()},
                         {"history", result.history},
                         {"epoch_sums", at_batch > 0 ? run.state() : json()},
                         {"options", options_json(o)}};
        nn::save_checkpoint(ckpt.string(), model, &optimizer, meta.dump());
        saved_step = step;
    };
    autograd::DetectAnomalyGuard anomaly(o.detect_anomaly);

    SignalScope signals;
    Progress bar(o.progress && root);
    const auto start = Clock::now();
    auto finish_early = [&](std::size_t at_epoch, std::size_t at_batch, std::size_t epoch_batches) {
        result.steps = step;
        result.epochs = static_cast<double>(at_epoch) + static_cast<double>(at_batch) / static_cast<double>(epoch_batches);
        result.train_seconds = seconds_since(start);
        if (result.interrupted && root)
            std::cerr << "interrupted: checkpoint saved at step " << step
                      << (o.run_dir.empty() ? std::string() : " in " + ckpt.string()) << "; continue with --resume\n";
    };
    model.train();
    for (; epoch < o.epochs; ++epoch, batch_at = 0) {
        // The epoch's order depends only on (seed, epoch): a resumed run sees the same batches.
        const auto batches = train_data.plan(o.batch_size, true, o.seed * 1000003ULL + epoch);
        run = Running();
        if (batch_at > 0 && !partial_epoch.is_null()) run.restore(partial_epoch);
        Running window;
        const auto epoch_start = Clock::now();
        for (std::size_t b = batch_at; b < batches.size(); ++b) {
            const float beta = o.kl.at(step);
            const auto t0 = Clock::now();
            if (update_in_sweep) optimizer.begin_step();
            if (reducer) reducer->begin_step();
            // This rank's rows of the batch; the step's sums over them: loss * examples,
            // NLL, KL, examples, items, and votes to stop (a signal; rank 0's clock; the
            // signal's number).
            const data::Batch whole = train_data.batch(batches[b]);
            double sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            on_my_rows(group, whole, [&](const data::Batch& part, nn::distributed::RowRange mine) {
                WholeBatch whole_batch(group);  // free bits read the whole batch's KL
                const ELBO e = model.loss(part, beta, o.free_bits);
                // The loss is a mean over this rank's rows; weighted by their share, the
                // ranks' gradients sum to the whole batch's.
                e.loss.backward(Array(static_cast<float>(mine.size()) / static_cast<float>(whole.size())));
                sums[0] = e.loss.item() * static_cast<double>(mine.size());
                sums[1] = e.recon.item();
                sums[2] = e.kl.item();
                sums[3] = static_cast<double>(mine.size());
                for (auto r : part.rows) sums[4] += static_cast<double>(train_data.items(r));
            }, [&] {  // no rows here: still a part of free bits' sum
                if (o.free_bits > 0.0f && model.variational()) {
                    std::vector<double> none(model.latent_size() + 1, 0.0);
                    group.sum(none.data(), none.size());
                }
            });
            if (reducer) reducer->finish_step();
            share_random_state(group, whole.size());  // after the sums: collectives in one order on every rank
            if (!update_in_sweep) {
                if (o.clip_norm > 0.0f) nn::clip_grad_norm(optimizer.params(), o.clip_norm);
                optimizer.step();
                optimizer.zero_grad();
            }
            if (warmup) warmup->step();
            // Stopping is decided together: a signal on any rank, or rank 0's clock.
            const bool budget = o.time_budget_s > 0 && seconds_since(start) >= o.time_budget_s;
            sums[5] = stop_requested ? 1.0 : 0.0;
            sums[6] = root && budget ? 1.0 : 0.0;
            sums[7] = stop_requested ? static_cast<double>(stop_signal) : 0.0;
            group.sum(sums, 8);
            const double ms = 1e3 * seconds_since(t0);
            ++step;
            result.step_ms.push_back(ms);
            if (reducer) {
                result.reduce_ms += reducer->finish_ms();
                result.buckets = reducer->buckets();
                result.buckets_in_sweep += static_cast<double>(reducer->started_in_sweep());
            }
            const double totals[5] = {sums[0], sums[1], sums[2], sums[3], sums[4]};
            run.add(totals, ms);
            window.add(totals, ms);
            const double loss = sums[0] / sums[3];
            if (!std::isfinite(loss))
                throw diverged("the loss is " + std::to_string(loss) + " (KL weight " + std::to_string(beta) + ")");
            if (o.checkpoint_every > 0 && step % o.checkpoint_every == 0 && b + 1 < batches.size()) save(epoch, b + 1);
            const double rate = run.steps / std::max(1e-9, seconds_since(epoch_start));
            const json w = window.summary();
            if (bar.active() && (step % 5 == 0 || b + 1 == batches.size()))
                bar.draw(epoch + 1, o.epochs, b + 1, batches.size(), rate, w["loss"], w["recon"], w["kl"], beta, "");
            if (root && o.log_every && step % static_cast<long>(o.log_every) == 0) {
                json line = {{"type", "step"}, {"step", step}, {"epoch", epoch + 1}, {"kl_weight", beta},
                             {"ms_per_step", window.ms / window.steps},
                             {train_data.item_name() + "_per_s", 1e3 * window.items / std::max(1e-9, window.ms)}};
                line.update(w);
                if (metrics.is_open()) metrics << line.dump() << '\n' << std::flush;
                if (!bar.active())
                    std::cerr << "step " << step << "  epoch " << epoch + 1 << "  loss " << std::fixed << std::setprecision(3)
                              << double(w["loss"]) << "  nll " << double(w["recon"]) << "  kl " << double(w["kl"])
                              << "  w " << beta << "  " << std::setprecision(1) << window.ms / window.steps << " ms/step\n";
                window = Running();
            }
            const bool steps_done = o.max_steps > 0 && step >= o.max_steps;
            const bool signalled = sums[5] > 0, out_of_time = sums[6] > 0;
            if (signalled || out_of_time || steps_done) {
                result.interrupted = signalled;
                result.signal = signalled ? static_cast<int>(sums[7] / sums[5]) : 0;  // mpirun gives every rank the same one
                result.stopped_early = !signalled;
                if (b + 1 < batches.size()) {  // mid-epoch: save the position and leave
                    bar.finish();
                    save(epoch, b + 1);
                    finish_early(epoch, b + 1, batches.size());
                    return result;
                }
                break;  // the epoch is complete: record and validate it as usual first
            }
        }
        bar.finish();
        json epoch_record = {{"type", "epoch"}, {"epoch", epoch + 1}, {"step", step}, {"kl_weight", o.kl.at(step)},
                             {"train", run.summary()}, {"wall_s", seconds_since(epoch_start)}};
        if (o.validate && valid) {
            const Metrics m = evaluate(model, *valid, 64, 1, &group);
            epoch_record["valid"] = {{"nll", m.nll}, {"kl", m.kl}, {"neg_elbo", m.neg_elbo()}};
            if (valid->item_name() == "tokens") epoch_record["valid"]["ppl_elbo"] = m.ppl_elbo();
        }
        result.history.push_back(epoch_record);
        if (metrics.is_open()) metrics << epoch_record.dump() << '\n' << std::flush;
        std::ostringstream line;
        line << std::fixed << std::setprecision(3) << "epoch " << epoch + 1 << "/" << o.epochs << " (step " << step
             << "): train nll " << double(epoch_record["train"]["recon"]) << " kl " << double(epoch_record["train"]["kl"]);
        if (epoch_record.contains("valid"))
            line << " | valid nll " << double(epoch_record["valid"]["nll"]) << " kl " << double(epoch_record["valid"]["kl"])
                 << " -elbo " << double(epoch_record["valid"]["neg_elbo"]);
        if (root) std::cerr << line.str() << "  [" << clock_text(seconds_since(epoch_start)) << "]\n";
        save(epoch + 1, 0);
        if (result.interrupted || result.stopped_early) {
            finish_early(epoch + 1, 0, 1);
            return result;
        }
    }
    result.steps = step;
    result.epochs = static_cast<double>(o.epochs);
    result.train_seconds = seconds_since(start);
    return result;
}

}  // namespace

TrainResult train(LatentVariableModel& model, const data::Dataset& train_data, const data::Dataset* valid,
                  const RunRecord& record, const TrainOptions& o) {
    if (!o.group || o.group->size() == 1) return train_steps(model, train_data, valid, record, o);
    // An error on one rank (a file it cannot write, an anomaly in its rows) would
    // leave the others waiting in a sum for ever: it ends them all.
    try {
        return train_steps(model, train_data, valid, record, o);
    } catch (const std::exception& e) {
        o.group->abort(std::string("error: ") + e.what());
    }
}

std::string plot_curves(const std::string& run_dir, std::string& why) {
    const fs::path dir = run_dir, metrics = dir / "metrics.jsonl", data = dir / "curves.dat", png = dir / "curves.png";
    std::ifstream in(metrics);
    if (!in) {
        why = "no " + metrics.string();
        return "";
    }
    std::ofstream out(data);
    out << "# step loss nll kl kl_weight\n";
    std::size_t rows = 0;
    for (std::string line; std::getline(in, line);) {
        try {
            const json j = json::parse(line);
            if (j.value("type", "") != "step") continue;
            out << j["step"] << ' ' << j["loss"] << ' ' << j["recon"] << ' ' << j["kl"] << ' ' << j["kl_weight"] << '\n';
            ++rows;
        } catch (const json::exception&) {
        }
    }
    out.close();
    if (rows < 2) {
        why = "too few metrics lines to plot";
        return "";
    }
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        why = "gnuplot is not installed (apt-get install gnuplot-nox)";
        return "";
    }
    const fs::path script = dir / "curves.gp";
    std::ofstream gp(script);
    gp << "set terminal pngcairo size 1200,400 font 'sans,10'\n"
       << "set output '" << png.string() << "'\n"
       << "set multiplot layout 1,3\n"
       << "set xlabel 'step'\nset grid\nset key top right\n"
       << "set title 'loss and reconstruction (nats per example)'\n"
       << "plot '" << data.string() << "' using 1:2 with lines lw 2 title 'loss (annealed)', '' using 1:3 with lines lw 2 title 'NLL'\n"
       << "set title 'KL(q(z|x) || p(z)) (nats per example)'\n"
       << "plot '" << data.string() << "' using 1:4 with lines lw 2 lc rgb '#c0392b' title 'KL'\n"
       << "set title 'KL weight'\nset yrange [0:1.05]\nset key bottom right\n"
       << "plot '" << data.string() << "' using 1:5 with lines lw 2 lc rgb '#27ae60' title 'beta'\n"
       << "unset multiplot\n";
    gp.close();
    const std::string cmd = "gnuplot '" + script.string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0 || !fs::exists(png)) {
        why = "gnuplot failed (see " + script.string() + ")";
        return "";
    }
    return png.string();
}

}  // namespace tapegrad::models::vae
