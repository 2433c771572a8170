// 04_conditional_vae: a class-conditional VAE on Fashion-MNIST, trained with the
// library's train() loop (checkpoints, Ctrl-C, --resume), then asked for samples of
// each class. The model implements the model interface; see docs/adding_a_model.md.
//   1. settings  2. data  3. model  4. train  5. evaluate  6. generate
#include <CLI/CLI.hpp>

#include <iomanip>
#include <iostream>

#include "autograd/autograd.hpp"
#include "models/data/dataset.hpp"
#include "models/vae/conditional_vae.hpp"
#include "models/vae/generate.hpp"
#include "models/vae/train.hpp"

using namespace tapegrad;
using namespace tapegrad::models;

int main(int argc, char** argv) {
    // 1. Settings.
    CLI::App app{"class-conditional VAE on Fashion-MNIST"};
    std::string data_dir = data::fashion_mnist_dir, run = "runs/conditional", out = "conditional_samples.png";
    vae::ConditionalVAEConfig config;
    vae::TrainOptions opt;
    opt.epochs = 5;
    opt.batch_size = 128;
    opt.kl.kind = vae::KLSchedule::Kind::constant;
    int threads = 2;
    app.add_option("--data", data_dir, "Fashion-MNIST folder")->capture_default_str();
    app.add_option("--run", run, "run folder (checkpoint, metrics)")->capture_default_str();
    app.add_option("--epochs", opt.epochs, "epochs")->capture_default_str();
    app.add_option("--max-steps", opt.max_steps, "stop after this many steps (0: no limit)");
    app.add_option("--latent", config.latent, "latent dimensions")->capture_default_str();
    app.add_option("--hidden", config.hidden, "hidden units")->capture_default_str();
    app.add_option("--lr", opt.lr, "Adam learning rate")->capture_default_str();
    app.add_option("--seed", opt.seed, "seed")->capture_default_str();
    app.add_option("--threads", threads, "threads of tapegrad's pool (products and the passes between them)")->capture_default_str();
    app.add_option("--out", out, "PNG of samples, one row per class")->capture_default_str();
    app.add_flag("--resume", opt.resume, "continue the run in --run");
    app.add_flag("--overwrite", opt.overwrite, "start afresh in a --run folder that holds a run");
    CLI11_PARSE(app, argc, argv);
    autograd::set_num_threads(threads);
    opt.run_dir = run;
    opt.log_every = 200;

    try {
        // 2. Data: images with their labels (each batch carries both).
        const data::ImageDataset train(data::read_idx_split(data_dir, "train"));
        const data::ImageDataset test(data::read_idx_split(data_dir, "t10k"));

        // 3. Model: it implements the model interface (models/vae/model.hpp), so the
        //    library's training loop, evaluation and generation take it as it is.
        autograd::manual_seed(opt.seed);
        vae::ConditionalVAE model(config);

        // 4. Train: the generic loop (checkpoints, Ctrl-C, --resume), evaluating on the
        //    test images after each epoch.
        const vae::TrainResult r = vae::train(model, train, &test, {"conditional", model.config_json()}, opt);

        // 5. Evaluate: the test -ELBO after the last epoch.
        if (!r.history.empty() && r.history.back().contains("valid"))
            std::cout << "test -ELBO " << std::fixed << std::setprecision(2)
                      << double(r.history.back()["valid"]["neg_elbo"]) << " nats/image\n";

        // 6. Generate: ten samples of each class, one class per row.
        data::Batch labels;
        labels.labels = Indices::from_shape({config.classes * 10});
        for (std::size_t c = 0; c < config.classes; ++c)
            for (std::size_t k = 0; k < 10; ++k) labels.labels(c * 10 + k) = static_cast<std::int64_t>(c);
        nn::EvalGuard eval(model);
        autograd::NoGradGuard no_grad;
        const Array z = vae::prior_samples(config.classes * 10, config.latent);
        vae::save_image_grid(out, model.mean_image(autograd::Tensor(z), labels), 28, 28, 10);
        std::cout << "samples, one row per class: " << out << "\n";
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
