// The training loop both VAEs share: Adam on the ELBO with a KL schedule, a
// checkpoint after every epoch and on Ctrl-C, exact resumption (a resumed run gives
// the numbers of an uninterrupted one), a time budget, metrics as JSON lines, and a
// progress bar on a terminal (plain log lines otherwise).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/vae/annealing.hpp"
#include "models/vae/elbo.hpp"
#include "nn/module.hpp"

namespace tapegrad::models::vae {

struct TrainOptions {
    std::size_t epochs = 4;
    long max_steps = 0;          // stop after this many steps in all (0: no limit), with a checkpoint
    double time_budget_s = 0.0;  // stop when training has taken this long (0: no limit), with a checkpoint
    std::size_t batch_size = 32;
    float lr = 1e-3f;
    float clip_norm = 0.0f;      // clip the global gradient norm (0: off)
    KLSchedule kl;
    float free_bits = 0.0f;
    std::uint64_t seed = 1;
    std::size_t log_every = 100;  // a metrics line every N steps
    std::string run_dir;          // checkpoint.npz and metrics.jsonl go here ("" keeps nothing)
    bool resume = false;          // continue from run_dir/checkpoint.npz
    bool progress = true;         // a progress bar when stderr is a terminal
    bool validate = true;         // evaluate on held-out data after each epoch
};

// What the loop needs to know about a model and its data.
struct TrainTask {
    nn::Module* model = nullptr;
    std::string name;       // "sentence_vae", "image_vae": recorded in checkpoints
    nlohmann::json config;  // the model's configuration (and vocabulary), recorded in checkpoints
    // The batches (row indices) of an epoch, shuffled with the given seed.
    std::function<std::vector<std::vector<std::size_t>>(std::uint64_t seed)> plan;
    // The ELBO of a batch in training mode, with KL weight beta.
    std::function<ELBO(const std::vector<std::size_t>& rows, float beta)> loss;
    // Items a batch counts for throughput (sentences' target tokens, or images).
    std::function<std::size_t(const std::vector<std::size_t>& rows)> items;
    std::string item_name = "examples";
    // Held-out metrics after an epoch (empty json: none).
    std::function<nlohmann::json()> validate;
};

struct TrainResult {
    long steps = 0;
    double epochs = 0.0;         // completed, fractional
    bool interrupted = false;    // Ctrl-C
    bool stopped_early = false;  // max_steps or the time budget
    nlohmann::json history = nlohmann::json::array();  // one record per finished epoch
    std::vector<double> step_ms; // forward + backward + update, per step of this process
    double train_seconds = 0.0;
    double median_step_ms() const;
};

TrainResult train(TrainTask& task, const TrainOptions& options);

// The checkpoint's metadata record (JSON) of a run directory, or throws.
nlohmann::json read_run_meta(const std::string& run_dir);

// Draws run_dir/curves.png (loss, NLL, KL and KL weight against steps) from
// metrics.jsonl with gnuplot. Returns the PNG's path, or "" with a reason in `why`.
std::string plot_curves(const std::string& run_dir, std::string& why);

}  // namespace tapegrad::models::vae
