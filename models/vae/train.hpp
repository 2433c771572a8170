// The training loop every model shares (model.hpp): Adam on the ELBO with a KL
// schedule, free bits, optional warm-up and clipping, a checkpoint after every epoch
// and on Ctrl-C, exact resumption (a resumed run gives the numbers of an
// uninterrupted one), a time budget, metrics as JSON lines, and a progress bar on a
// terminal (plain log lines otherwise).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/data/dataset.hpp"
#include "models/vae/annealing.hpp"
#include "models/vae/model.hpp"
#include "nn/distributed.hpp"

namespace tapegrad::models::vae {

struct TrainOptions {
    std::size_t epochs = 4;
    long max_steps = 0;          // stop after this many steps in all (0: no limit), with a checkpoint
    double time_budget_s = 0.0;  // stop when training has taken this long (0: no limit), with a checkpoint
    std::size_t batch_size = 32;
    float lr = 1e-3f;
    long lr_warmup = 0;          // linear learning-rate warm-up over this many steps (0: off; nn::LinearWarmup)
    float clip_norm = 0.0f;      // clip the global gradient norm (0: off)
    KLSchedule kl;
    float free_bits = 0.0f;      // per latent dimension, nats (elbo.hpp)
    std::uint64_t seed = 1;
    std::size_t log_every = 100;  // a metrics line every N steps
    std::string run_dir;          // checkpoint.npz and metrics.jsonl go here ("" keeps nothing)
    bool resume = false;          // continue from run_dir/checkpoint.npz
    bool overwrite = false;       // start afresh in a run_dir that holds a checkpoint (else refused)
    bool progress = true;         // a progress bar when stderr is a terminal
    bool validate = true;         // evaluate on held-out data after each epoch
    long checkpoint_every = 500;  // also checkpoint every N steps within an epoch (0: at epoch ends only)
    bool detect_anomaly = false;  // name the first op with a NaN or infinite value or gradient (tape.hpp)
    // The ranks that train together, each on its rows of every batch, with the
    // numbers of one process (nn/distributed.hpp; nullptr: this process alone).
    nn::distributed::Communicator* group = nullptr;
};

// What a checkpoint records besides the weights: the model's registered name and
// everything needed to rebuild it and its data (its configuration, the vocabulary,
// the data set). Every tapegrad-vae subcommand rebuilds the model from it.
struct RunRecord {
    std::string model;      // the registered name (registry.hpp), e.g. "text"
    nlohmann::json config;  // the model's configuration and its data's description
};

struct TrainResult {
    long steps = 0;
    double epochs = 0.0;         // completed, fractional
    bool interrupted = false;    // Ctrl-C or SIGTERM
    int signal = 0;              // which (SIGINT, SIGTERM), when interrupted
    bool stopped_early = false;  // max_steps or the time budget
    nlohmann::json history = nlohmann::json::array();  // one record per finished epoch
    std::vector<double> step_ms; // forward + backward + update, per step of this process
    double train_seconds = 0.0;
    double reduce_ms = 0.0;      // with several ranks: time spent waiting for gradient sums after the sweeps
    std::size_t buckets = 0;     // with several ranks: gradient buckets a step sums,
    double buckets_in_sweep = 0.0;  // and how many were started during the sweep, summed over the steps
    double median_step_ms() const;
};

// Trains `model` on `train` (epochs planned by the data set), evaluating on `valid`
// (if given) after every epoch. With options.resume the run continues from
// options.run_dir's checkpoint, which must hold the same model (record.model).
TrainResult train(LatentVariableModel& model, const data::Dataset& train, const data::Dataset* valid,
                  const RunRecord& record, const TrainOptions& options);

// Refuses a run folder train() could not use: a path that is a file; a folder with a
// checkpoint when neither resume nor overwrite is asked; no checkpoint to resume.
// train() checks this itself; a program may call it before loading its data.
void check_run_folder(const std::string& run_dir, bool resume, bool overwrite);

// The checkpoint's metadata record (JSON) of a run directory, or throws.
nlohmann::json read_run_meta(const std::string& run_dir);

// Draws run_dir/curves.png (loss, NLL, KL and KL weight against steps) from
// metrics.jsonl with gnuplot. Returns the PNG's path, or "" with a reason in `why`.
std::string plot_curves(const std::string& run_dir, std::string& why);

}  // namespace tapegrad::models::vae
