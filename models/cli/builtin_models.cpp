// The models tapegrad-vae knows by name, registered with their flags and defaults
// (registry.hpp). Each entry is what a user's own model needs to join the CLI.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <map>

#include "autograd/autograd.hpp"
#include "models/cli/checks.hpp"
#include "models/cli/registry.hpp"
#include "models/vae/conditional_vae.hpp"
#include "models/vae/image_vae.hpp"
#include "models/vae/sentence_vae.hpp"
#include "models/vae/transformer_vae.hpp"
#include "models/vae/translator.hpp"

namespace tapegrad::models::cli {

using json = nlohmann::json;
using namespace vae;

namespace {

std::map<std::string, ModelType>& registry() {
    static std::map<std::string, ModelType> r;
    return r;
}

ModelType text_model() {
    ModelType t;
    t.name = "text";
    t.description = "the sentence VAE of Bowman et al. 2016 (RNN encoder and decoder)";
    t.data = DataKind::text;
    t.defaults = [](TrainOptions& o) {
        o.batch_size = 32;
        o.kl.kind = KLSchedule::Kind::logistic;
    };
    t.add_flags = [](CLI::App& cmd) -> std::function<json()> {
        auto c = std::make_shared<SentenceVAEConfig>();
        auto cell = std::make_shared<std::string>("gru");
        auto autoencoder = std::make_shared<bool>(false);
        cmd.add_option("--embed", c->embed, "embedding size")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--hidden", c->hidden, "RNN hidden size")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--latent", c->latent, "latent size")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--layers", c->layers, "recurrent layers")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--cell", *cell, "gru or lstm")->check(CLI::IsMember({"gru", "lstm"}))->capture_default_str();
        cmd.add_flag("--bidirectional", c->bidirectional, "bidirectional encoder");
        cmd.add_option("--embedding-dropout", c->embedding_dropout, "dropout on the decoder's input embeddings")
            ->check(probability())->capture_default_str();
        cmd.add_option("--word-dropout", c->word_dropout, "decoder inputs replaced by <unk> at this rate")
            ->check(probability())->capture_default_str();
        cmd.add_flag("--autoencoder", *autoencoder, "the plain (non-variational) autoencoder baseline");
        return [c, cell, autoencoder] {
            c->cell = parse_cell(*cell);
            c->variational = !*autoencoder;
            return to_json(*c);
        };
    };
    t.build = [](const json& config) -> std::unique_ptr<LatentVariableModel> {
        return std::make_unique<SentenceVAE>(sentence_config_from_json(config));
    };
    return t;
}

ModelType image_model() {
    ModelType t;
    t.name = "image";
    t.description = "the image VAE of Kingma & Welling 2014 (MLP encoder and decoder)";
    t.data = DataKind::images;
    t.defaults = [](TrainOptions& o) {
        o.batch_size = 128;
        o.kl.kind = KLSchedule::Kind::constant;
    };
    t.add_flags = [](CLI::App& cmd) -> std::function<json()> {
        auto c = std::make_shared<ImageVAEConfig>();
        auto likelihood = std::make_shared<std::string>("bernoulli");
        auto autoencoder = std::make_shared<bool>(false);
        cmd.add_option("--hidden", c->hidden, "hidden units")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--latent", c->latent, "latent size")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--likelihood", *likelihood, "bernoulli or gaussian")->check(CLI::IsMember({"bernoulli", "gaussian"}))
            ->capture_default_str();
        cmd.add_option("--sigma", c->sigma, "standard deviation of the gaussian likelihood")
            ->check(positive())->capture_default_str();
        cmd.add_flag("--autoencoder", *autoencoder, "the plain (non-variational) autoencoder baseline");
        return [c, likelihood, autoencoder] {
            c->likelihood = parse_likelihood(*likelihood);
            c->variational = !*autoencoder;
            return to_json(*c);
        };
    };
    t.build = [](const json& config) -> std::unique_ptr<LatentVariableModel> {
        return std::make_unique<ImageVAE>(image_config_from_json(config));
    };
    return t;
}

ModelType conditional_model() {
    ModelType t;
    t.name = "conditional";
    t.description = "a class-conditional image VAE (Sohn et al. 2015): q(z|x,y), p(x|z,y)";
    t.data = DataKind::images;
    t.defaults = [](TrainOptions& o) {
        o.batch_size = 128;
        o.kl.kind = KLSchedule::Kind::constant;
    };
    t.add_flags = [](CLI::App& cmd) -> std::function<json()> {
        auto c = std::make_shared<ConditionalVAEConfig>();
        cmd.add_option("--hidden", c->hidden, "hidden units")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--latent", c->latent, "latent size")->check(count_at_least(1))->capture_default_str();
        return [c] { return to_json(*c); };
    };
    t.build = [](const json& config) -> std::unique_ptr<LatentVariableModel> {
        return std::make_unique<ConditionalVAE>(conditional_config_from_json(config));
    };
    return t;
}

ModelType transformer_model() {
    ModelType t;
    t.name = "transformer";
    t.description = "a Transformer sentence VAE: pre-LN encoder, mean pooling, z as one memory slot of the decoder";
    t.data = DataKind::text;
    t.defaults = [](TrainOptions& o) {  // the PyTorch reference's (bench/reference/transformer_vae.py)
        o.batch_size = 32;
        o.lr = 5e-4f;
        o.lr_warmup = 1000;
        o.clip_norm = 1.0f;
        o.kl.kind = KLSchedule::Kind::logistic;
    };
    t.add_flags = [](CLI::App& cmd) -> std::function<json()> {
        auto c = std::make_shared<TransformerVAEConfig>();
        auto autoencoder = std::make_shared<bool>(false);
        cmd.add_option("--d-model", c->d_model, "model width")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--heads", c->heads, "attention heads (must divide --d-model)")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--ff", c->ff, "feed-forward inner size")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--layers", c->layers, "layers in the encoder and in the decoder")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--latent", c->latent, "latent size")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--max-positions", c->max_positions, "learned positions (at least --max-length)")
            ->check(count_at_least(2))->capture_default_str();
        cmd.add_option("--dropout", c->dropout, "dropout on embeddings, attention weights and sub-layer outputs")
            ->check(probability())->capture_default_str();
        cmd.add_option("--word-dropout", c->word_dropout, "decoder inputs replaced by <unk> at this rate")
            ->check(probability())->capture_default_str();
        cmd.add_flag("--z-at-inputs", c->z_at_inputs, "also add a projection of z to every decoder input");
        cmd.add_flag("--autoencoder", *autoencoder, "the plain (non-variational) autoencoder baseline");
        return [c, autoencoder] {
            c->variational = !*autoencoder;
            return to_json(*c);
        };
    };
    t.build = [](const json& config) -> std::unique_ptr<LatentVariableModel> {
        const TransformerVAEConfig c = transformer_config_from_json(config);
        if (config.contains("data") && config["data"].value("max_length", std::size_t{0}) > c.max_positions)
            throw Error("--max-length " + std::to_string(config["data"].value("max_length", std::size_t{0})) +
                        " exceeds --max-positions " + std::to_string(c.max_positions));
        return std::make_unique<TransformerVAE>(c);
    };
    return t;
}

ModelType translate_model() {
    ModelType t;
    t.name = "translate";
    t.description = "translation with attention (a bidirectional GRU encoder, a GRU decoder); --variational: VNMT";
    t.data = DataKind::parallel;
    t.defaults = [](TrainOptions& o) {
        o.batch_size = 64;
        o.lr = 1e-3f;
        o.clip_norm = 5.0f;
        o.kl.kind = KLSchedule::Kind::linear;  // VNMT: the KL weight rises from 0 to 1
        o.kl.warmup = 2000;
    };
    t.add_flags = [](CLI::App& cmd) -> std::function<json()> {
        auto c = std::make_shared<TranslatorConfig>();
        cmd.add_option("--embed", c->embed, "word embedding size (source and target)")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--hidden", c->hidden, "GRU size (the encoder's per direction, and the decoder's)")
            ->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--latent", c->latent, "latent size of the variational model")->check(count_at_least(1))->capture_default_str();
        cmd.add_option("--dropout", c->dropout, "dropout on the embeddings and the attention outputs")
            ->check(probability())->capture_default_str();
        CLI::Option* variational =
            cmd.add_flag("--variational", c->variational, "VNMT: a latent z with a learned prior p(z|x) (default: the deterministic model)");
        auto posterior = std::make_shared<std::string>("encoder");
        cmd.add_option("--posterior", *posterior,
                       "what VNMT's posterior reads of the target: encoder (its states, as Zhang et al.) or embeddings "
                       "(the mean of its word embeddings: no second encoder pass)")
            ->check(CLI::IsMember({"encoder", "embeddings"}))->needs(variational)->capture_default_str();
        return [c, posterior] {
            c->posterior = posterior_input_from_name(*posterior);
            return to_json(*c);
        };
    };
    t.build = [](const json& config) -> std::unique_ptr<LatentVariableModel> {
        return std::make_unique<Translator>(translator_config_from_json(config));
    };
    return t;
}

}  // namespace

void register_model(ModelType type) {
    if (type.name.empty() || !type.build || !type.add_flags) throw Error("register_model: a model needs a name, flags and a build");
    if (registry().count(type.name)) throw Error("register_model: a model named '" + type.name + "' is registered already");
    const std::string name = type.name;
    registry().emplace(name, std::move(type));
}

const ModelType& find_model(const std::string& name) {
    const auto it = registry().find(name);
    if (it == registry().end()) {
        std::string known;
        for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
        throw Error("unknown model '" + name + "' (registered: " + known + ")");
    }
    return it->second;
}

std::vector<std::string> model_names() {
    std::vector<std::string> names;
    for (const auto& [name, type] : registry()) names.push_back(name);
    return names;
}

void register_builtin_models() {
    static const bool done = [] {
        register_model(text_model());
        register_model(image_model());
        register_model(conditional_model());
        register_model(transformer_model());
        register_model(translate_model());
        return true;
    }();
    (void)done;
}

}  // namespace tapegrad::models::cli
