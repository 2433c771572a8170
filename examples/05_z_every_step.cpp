// 05_z_every_step: a new sentence VAE whose decoder reads z at every step, beside
// each word's embedding (as in Bowman et al. 2016's variants and the "z at every
// step" decoders of later work), built from the sentence VAE's parts and added to
// tapegrad-vae's subcommands. Only the public API is used; nothing in the library
// changes.
//   build/examples/05_z_every_step train --model z-every-step --epochs 1 --run runs/z
//   build/examples/05_z_every_step eval --run runs/z
//   build/examples/05_z_every_step sample --run runs/z --method beam
// docs/adding_a_model.md explains each part.
#include <CLI/CLI.hpp>

#include "autograd/autograd.hpp"
#include "models/cli/checks.hpp"
#include "models/cli/cli.hpp"
#include "models/cli/registry.hpp"
#include "models/vae/sentence_vae.hpp"

using namespace tapegrad;
using namespace tapegrad::models;
using autograd::Tensor;

// 1. The model: the sentence VAE with a decoder that reads [embedding, z] at every
//    step. Everything else (encoder, latent heads, initial state from z, the fused
//    vocabulary loss, generation) is the sentence VAE's.
class ZEveryStep : public vae::SentenceVAE {
public:
    explicit ZEveryStep(const vae::SentenceVAEConfig& c) : SentenceVAE(c, c.embed + c.latent) {}

protected:
    // [B, T, E] and z [B, Z] -> [B, T, E + Z]: z repeated beside every step's word.
    Tensor decoder_input(const Tensor& embedded, const Tensor& z) const override {
        using namespace autograd;
        const Tensor z_at_each = broadcast_to(unsqueeze(z, 1), {infer, embedded.shape()[1], infer});
        return concat({embedded, z_at_each}, 2);
    }
};

// 2. Its entry in the registry: a name, its data, its flags and how to build it from
//    a configuration (what its checkpoints record).
models::cli::ModelType z_every_step() {
    models::cli::ModelType t;
    t.name = "z-every-step";
    t.description = "a sentence VAE whose decoder reads z at every step";
    t.data = models::cli::DataKind::text;
    t.defaults = [](vae::TrainOptions& o) { o.batch_size = 32; };
    t.add_flags = [](CLI::App& cmd) -> std::function<nlohmann::json()> {
        auto c = std::make_shared<vae::SentenceVAEConfig>();
        cmd.add_option("--embed", c->embed, "embedding size")->check(models::cli::count_at_least(1))->capture_default_str();
        cmd.add_option("--hidden", c->hidden, "GRU hidden size")->check(models::cli::count_at_least(1))->capture_default_str();
        cmd.add_option("--latent", c->latent, "latent size")->check(models::cli::count_at_least(1))->capture_default_str();
        cmd.add_option("--word-dropout", c->word_dropout, "decoder inputs replaced by <unk> at this rate")
            ->check(models::cli::probability())->capture_default_str();
        return [c] { return vae::to_json(*c); };
    };
    t.build = [](const nlohmann::json& config) -> std::unique_ptr<vae::LatentVariableModel> {
        return std::make_unique<ZEveryStep>(vae::sentence_config_from_json(config));
    };
    return t;
}

// 3. The program: the built-in models, this one, and tapegrad-vae's subcommands.
int main(int argc, char** argv) {
    models::cli::register_builtin_models();
    models::cli::register_model(z_every_step());
    return models::cli::run(argc, argv);
}
