// 02_image_vae: the VAE of Kingma & Welling (2014) on Fashion-MNIST, top to bottom.
//   1. settings  2. data  3. model  4. train  5. evaluate  6. generate
// Every gradient comes from the tape: the loss is the ELBO written once
// (models/vae/elbo.hpp) and backward() differentiates it.
// Run: build/examples/02_image_vae [--epochs 10] [--latent 2] ... (--help lists all)
#include <CLI/CLI.hpp>

#include <chrono>
#include <iomanip>
#include <iostream>

#include "autograd/autograd.hpp"
#include "models/data/dataset.hpp"
#include "models/vae/evaluate.hpp"
#include "models/vae/generate.hpp"
#include "models/vae/image_vae.hpp"
#include "nn/optim.hpp"

using namespace tapegrad;
using namespace tapegrad::models;

int main(int argc, char** argv) {
    // 1. Settings: pytorch/examples' VAE (784-400-20, Adam 1e-3, batch 128), each a flag.
    CLI::App app{"image VAE on Fashion-MNIST"};
    std::string data_dir = data::fashion_mnist_dir, out = "image_vae";
    std::size_t epochs = 10, batch = 128, hidden = 400, latent = 20;
    long max_steps = 0;
    float lr = 1e-3f;
    std::uint64_t seed = 1;
    int threads = 2;
    app.add_option("--data", data_dir, "folder with {train,t10k}-*-ubyte.gz (Debian: dataset-fashion-mnist)")->capture_default_str();
    app.add_option("--epochs", epochs, "epochs")->capture_default_str();
    app.add_option("--max-steps", max_steps, "stop after this many steps (0: no limit)");
    app.add_option("--batch-size", batch, "batch size")->capture_default_str();
    app.add_option("--hidden", hidden, "hidden units")->capture_default_str();
    app.add_option("--latent", latent, "latent dimensions (2 also draws the latent manifold)")->capture_default_str();
    app.add_option("--lr", lr, "Adam learning rate")->capture_default_str();
    app.add_option("--seed", seed, "seed")->capture_default_str();
    app.add_option("--threads", threads, "threads of tapegrad's pool (products and the passes between them)")->capture_default_str();
    app.add_option("--out", out, "prefix of the PNG files written")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    autograd::set_num_threads(threads);
    autograd::manual_seed(seed);

    try {
        // 2. Data: images kept as bytes, batches as floats in [0, 1].
        const data::ImageDataset train(data::read_idx_split(data_dir, "train"));
        const data::ImageDataset test(data::read_idx_split(data_dir, "t10k"));
        std::cout << "data: " << train.describe() << " to train on, " << test.size() << " to test\n";

        // 3. Model: encoder 784-400-(mu, logvar), decoder 20-400-784 logits, Bernoulli likelihood.
        vae::ImageVAEConfig config;
        config.input = train.images.pixels_per_image();
        config.hidden = hidden;
        config.latent = latent;
        vae::ImageVAE model(config);
        nn::Adam adam(model.parameters(), {.lr = lr});
        std::cout << "model: " << model.num_parameters() << " parameters\n";

        // 4. Train: for each batch, -ELBO forward, one reverse sweep, one Adam step.
        long step = 0;
        for (std::size_t epoch = 1; epoch <= epochs && (max_steps == 0 || step < max_steps); ++epoch) {
            const auto start = std::chrono::steady_clock::now();
            double total = 0.0;
            std::size_t seen = 0;
            for (const auto& rows : train.plan(batch, true, seed + epoch)) {
                const vae::ELBO elbo = model.loss(train.batch(rows), 1.0f);  // (recon + KL) / B
                adam.zero_grad();
                elbo.loss.backward();
                adam.step();
                total += elbo.neg_elbo_per_example() * rows.size();
                seen += rows.size();
                if (max_steps && ++step >= max_steps) break;
            }
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::cout << "epoch " << epoch << ": train -ELBO " << std::fixed << std::setprecision(2) << total / seen
                      << " nats/image  (" << std::setprecision(1) << secs << " s)\n";
        }

        // 5. Evaluate: -ELBO on all test images, and a tighter importance-weighted estimate.
        const vae::Metrics m = vae::evaluate(model, test, 1000);
        const vae::ImportanceWeighted iw = vae::importance_weighted_nll(model, test, 200, 100);
        std::cout << std::fixed << std::setprecision(2) << "test: -ELBO " << m.neg_elbo() << " (recon " << m.nll
                  << " + KL " << m.kl << ") nats/image; IW NLL (K=100, first 200 images) " << iw.nll << "\n";

        // 6. Generate: samples from the prior, reconstructions, and the 2-D manifold if latent = 2.
        nn::EvalGuard eval(model);
        autograd::NoGradGuard no_grad;
        const Array z = vae::prior_samples(64, latent);
        vae::save_image_grid(out + "_samples.png", model.mean_image(autograd::Tensor(z), {}), 28, 28, 8);
        const data::Batch first = test.batch({0, 1, 2, 3, 4, 5, 6, 7});
        const Array r = model.mean_image(model.posterior(first).loc, first);
        vae::save_image_grid(out + "_reconstructions.png", xt::concatenate(xt::xtuple(first.x.value(), r), 0), 28, 28, 8);
        std::cout << "wrote " << out << "_samples.png and " << out << "_reconstructions.png";
        if (latent == 2) {
            vae::save_image_grid(out + "_manifold.png", vae::latent_manifold(model, 20), 28, 28, 20);
            std::cout << " and " << out << "_manifold.png";
        }
        std::cout << "\n";
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
