// 03_sentence_vae: the sentence VAE of Bowman et al. (2016) on the Penn Treebank,
// top to bottom (the tapegrad-vae tool adds checkpoints, resumption and plots).
//   1. settings  2. data  3. model  4. train  5. evaluate  6. generate
// Run: build/examples/03_sentence_vae [--epochs 1] [--data data/ptb] ... (--help lists all)
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "autograd/autograd.hpp"
#include "models/data/dataset.hpp"
#include "models/vae/annealing.hpp"
#include "models/vae/evaluate.hpp"
#include "models/vae/generate.hpp"
#include "models/vae/sentence_vae.hpp"
#include "nn/optim.hpp"

using namespace tapegrad;
using namespace tapegrad::models;

int main(int argc, char** argv) {
    // 1. Settings: the reference Sentence-VAE's (embedding 300, GRU 256, latent 16,
    //    logistic KL annealing k = 0.0025 x0 = 2500, embedding dropout 0.5, Adam 1e-3, batch 32).
    CLI::App app{"sentence VAE on the Penn Treebank"};
    std::string data_dir = std::getenv("TAPEGRAD_DATA") ? std::string(std::getenv("TAPEGRAD_DATA")) + "/ptb" : "data/ptb";
    std::size_t epochs = 1, batch = 32, max_length = 60;
    long max_steps = 0;
    vae::SentenceVAEConfig config;
    vae::KLSchedule kl;  // logistic by default
    float lr = 1e-3f;
    std::uint64_t seed = 1;
    int threads = 2;
    app.add_option("--data", data_dir, "folder with ptb.{train,valid,test}.txt (scripts/get-data)")->capture_default_str();
    app.add_option("--epochs", epochs, "epochs")->capture_default_str();
    app.add_option("--max-steps", max_steps, "stop after this many steps (0: no limit)");
    app.add_option("--batch-size", batch, "batch size")->capture_default_str();
    app.add_option("--embed", config.embed, "embedding size")->capture_default_str();
    app.add_option("--hidden", config.hidden, "GRU size")->capture_default_str();
    app.add_option("--latent", config.latent, "latent dimensions")->capture_default_str();
    app.add_option("--embedding-dropout", config.embedding_dropout, "dropout on decoder inputs")->capture_default_str();
    app.add_option("--word-dropout", config.word_dropout, "decoder inputs replaced by <unk>")->capture_default_str();
    app.add_option("--kl-k", kl.k, "logistic annealing steepness")->capture_default_str();
    app.add_option("--kl-x0", kl.x0, "logistic annealing midpoint (steps)")->capture_default_str();
    app.add_option("--lr", lr, "Adam learning rate")->capture_default_str();
    app.add_option("--seed", seed, "seed")->capture_default_str();
    app.add_option("--threads", threads, "threads of tapegrad's pool (products and the passes between them)")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    autograd::set_num_threads(threads);
    autograd::manual_seed(seed);

    try {
        // 2. Data: the vocabulary from the training split; <s> w1..wn inputs, w1..wn </s> targets.
        const auto train_text = data::read_sentences(data_dir + "/ptb.train.txt");
        const data::Vocabulary vocab = data::Vocabulary::build(train_text, 2);
        const data::TextDataset train(data::SentenceDataset(train_text, vocab, max_length));
        const data::TextDataset test(data::SentenceDataset(data::read_sentences(data_dir + "/ptb.test.txt"), vocab, max_length));
        std::cout << "data: " << train.size() << " training sentences, vocabulary " << vocab.size() << "\n";

        // 3. Model: embedding, GRU encoder, mu/logvar heads, z -> decoder state, GRU decoder, vocabulary projection.
        config.vocab = vocab.size();
        vae::SentenceVAE model(config);
        nn::Adam adam(model.parameters(), {.lr = lr});
        std::cout << "model: " << model.num_parameters() << " parameters\n";

        // 4. Train: -ELBO with the KL term weighted by the annealing schedule.
        long step = 0;
        for (std::size_t epoch = 1; epoch <= epochs && (max_steps == 0 || step < max_steps); ++epoch) {
            double nll = 0.0, kld = 0.0;
            std::size_t seen = 0;
            for (const auto& rows : train.plan(batch, true, seed + epoch)) {
                const vae::ELBO elbo = model.loss(train.batch(rows), kl.at(step));
                adam.zero_grad();
                elbo.loss.backward();
                adam.step();
                nll += elbo.recon.item();
                kld += elbo.kl.item();
                seen += rows.size();
                if (++step % 200 == 0)
                    std::cout << "step " << step << ": nll " << std::fixed << std::setprecision(2) << nll / seen << "  kl "
                              << kld / seen << "  kl weight " << std::setprecision(3) << kl.at(step) << "\n";
                if (max_steps && step >= max_steps) break;
            }
            std::cout << "epoch " << epoch << ": train nll " << std::fixed << std::setprecision(2) << nll / seen << "  kl "
                      << kld / seen << " nats/sentence\n";
        }

        // 5. Evaluate on the test split (per sentence; perplexity per word, </s> counted, <s> not).
        const vae::Metrics m = vae::evaluate(model, test);
        std::cout << "test: nll " << m.nll << "  kl " << m.kl << "  -elbo " << m.neg_elbo() << "  perplexity "
                  << m.ppl_elbo() << "\n";

        // 6. Generate: five sentences from the prior, then a homotopy between two of them.
        const Array z = vae::prior_samples(5, config.latent);
        vae::DecodeOptions greedy;
        for (const auto& s : vae::decode(model, z, greedy)) std::cout << "  sample: " << vocab.decode(s) << "\n";
        const Array line = vae::interpolate(xt::view(z, 0, xt::all()), xt::view(z, 1, xt::all()), 5);
        for (const auto& s : vae::decode(model, line, greedy)) std::cout << "  path:   " << vocab.decode(s) << "\n";
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
