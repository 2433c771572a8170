// The model registry: the models tapegrad-vae knows by name. A registered model is
// trained, evaluated, sampled, interpolated and reconstructed by every subcommand
// (cli.hpp), with its own flags under `train --model NAME --help`. The built-in
// models register themselves (builtin_models.cpp); a program of one's own registers
// its model and hands its arguments to tapegrad::models::cli::run (examples/05_z_every_step.cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/vae/model.hpp"
#include "models/vae/train.hpp"

namespace CLI {
class App;
}

namespace tapegrad::models::cli {

// The data a model reads, which decides how tapegrad-vae loads it.
enum class DataKind {
    text,    // sentences: a corpus folder with train/valid/test files (--data, --files)
    images,  // images, with labels: an MNIST-style folder (--dataset, --data)
    parallel,  // sentence pairs for translation: a folder with {train,valid,test}.{SRC,TGT} (--data, --source, --target)
};

struct ModelType {
    std::string name;         // what --model takes, and what checkpoints record
    std::string description;  // one line for --help
    DataKind data = DataKind::text;
    // Training defaults of this model (batch size, learning rate, KL schedule, ...),
    // applied before the flags are read.
    std::function<void(vae::TrainOptions&)> defaults;
    // Adds the model's own flags to `train` and returns what turns them, once
    // parsed, into the model's configuration (JSON). The data's sizes (vocabulary,
    // image size) are added to it by the CLI: "vocab", "input".
    std::function<std::function<nlohmann::json()>(CLI::App& train)> add_flags;
    // The model from a full configuration, as a checkpoint records it.
    std::function<std::unique_ptr<vae::LatentVariableModel>(const nlohmann::json& config)> build;
};

// Registers a model type; a second type of the same name is refused.
void register_model(ModelType type);
// The registered type of that name; an unknown name is an error listing the known ones.
const ModelType& find_model(const std::string& name);
std::vector<std::string> model_names();

// Registers the built-in models (text, image, conditional, transformer, translate) once; the
// CLI calls it, and a program may call it before adding its own.
void register_builtin_models();

}  // namespace tapegrad::models::cli
