// 04_conditional_vae: a class-conditional VAE on Fashion-MNIST, trained with the
// library's train() loop (checkpoints, Ctrl-C, --resume) through a TrainTask, then
// asked for samples of each class. Written while adding the model; see
// docs/adding_a_model.md.
//   1. settings  2. data  3. model  4. train  5. evaluate  6. generate
#include <CLI/CLI.hpp>

#include <iomanip>
#include <iostream>

#include "autograd/autograd.hpp"
#include "models/data/images.hpp"
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
    CLI11_PARSE(app, argc, argv);
    autograd::set_num_threads(threads);
    opt.run_dir = run;
    opt.log_every = 200;

    try {
        // 2. Data: images with their labels.
        const data::ImageSet train = data::read_idx_split(data_dir, "train");
        const data::ImageSet test = data::read_idx_split(data_dir, "t10k");
        auto labels_of = [](const data::ImageSet& s, const std::vector<std::size_t>& rows) {
            std::vector<std::uint8_t> y;
            for (auto r : rows) y.push_back(s.labels[r]);
            return y;
        };

        // 3. Model.
        autograd::manual_seed(opt.seed);
        vae::ConditionalVAE model(config);

        // 4. Train: the generic loop only needs to know how to batch and what the loss is.
        vae::TrainTask task;
        task.model = &model;
        task.name = "conditional_vae";
        task.config = {{"input", config.input}, {"classes", config.classes}, {"hidden", config.hidden}, {"latent", config.latent}};
        task.item_name = "images";
        task.plan = [&](std::uint64_t seed) { return data::plan_image_batches(train.count, opt.batch_size, true, seed); };
        task.loss = [&](const std::vector<std::size_t>& rows, float beta) {
            const autograd::Tensor x(data::image_batch(train, rows, data::Binarize::none, autograd::generator()));
            return model.loss(x, labels_of(train, rows), beta);
        };
        task.validate = [&]() -> nlohmann::json {
            nn::EvalGuard eval(model);
            autograd::NoGradGuard no_grad;
            autograd::SeedScope seed(1);
            double total = 0.0;
            for (const auto& rows : data::plan_image_batches(test.count, 1000, false, 0)) {
                const autograd::Tensor x(data::image_batch(test, rows, data::Binarize::none, autograd::generator()));
                const vae::ELBO e = model.loss(x, labels_of(test, rows));
                total += e.neg_elbo_per_example() * rows.size();
            }
            return {{"neg_elbo", total / test.count}};
        };
        const vae::TrainResult r = vae::train(task, opt);

        // 5. Evaluate: the test -ELBO after the last epoch.
        if (!r.history.empty() && r.history.back().contains("valid"))
            std::cout << "test -ELBO " << std::fixed << std::setprecision(2)
                      << double(r.history.back()["valid"]["neg_elbo"]) << " nats/image\n";

        // 6. Generate: ten samples of each class, one class per row.
        nn::EvalGuard eval(model);
        autograd::NoGradGuard no_grad;
        std::vector<std::uint8_t> y;
        for (std::uint8_t c = 0; c < config.classes; ++c)
            for (int k = 0; k < 10; ++k) y.push_back(c);
        const autograd::Tensor logits = model.decode(autograd::Tensor(vae::prior_samples(y.size(), config.latent)), y);
        vae::save_image_grid(out, 1.0f / (1.0f + xt::exp(-logits.value())), 28, 28, 10);
        std::cout << "samples, one row per class: " << out << "\n";
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
