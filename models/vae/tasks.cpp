#include "models/vae/tasks.hpp"

#include "autograd/random.hpp"
#include "models/vae/evaluate.hpp"

namespace tapegrad::models::vae {

using json = nlohmann::json;

json to_json(const SentenceVAEConfig& c) {
    return {{"vocab", c.vocab},
            {"embed", c.embed},
            {"hidden", c.hidden},
            {"latent", c.latent},
            {"layers", c.layers},
            {"cell", c.cell == Cell::gru ? "gru" : "lstm"},
            {"bidirectional", c.bidirectional},
            {"embedding_dropout", c.embedding_dropout},
            {"word_dropout", c.word_dropout},
            {"variational", c.variational}};
}

SentenceVAEConfig sentence_config_from_json(const json& j) {
    SentenceVAEConfig c;
    c.vocab = j.at("vocab");
    c.embed = j.at("embed");
    c.hidden = j.at("hidden");
    c.latent = j.at("latent");
    c.layers = j.value("layers", std::size_t{1});
    c.cell = parse_cell(j.value("cell", std::string("gru")));
    c.bidirectional = j.value("bidirectional", false);
    c.embedding_dropout = j.value("embedding_dropout", 0.5f);
    c.word_dropout = j.value("word_dropout", 0.0f);
    c.variational = j.value("variational", true);
    return c;
}

json to_json(const ImageVAEConfig& c) {
    return {{"input", c.input},
            {"hidden", c.hidden},
            {"latent", c.latent},
            {"likelihood", c.likelihood == Likelihood::bernoulli ? "bernoulli" : "gaussian"},
            {"sigma", c.sigma},
            {"variational", c.variational}};
}

ImageVAEConfig image_config_from_json(const json& j) {
    ImageVAEConfig c;
    c.input = j.at("input");
    c.hidden = j.at("hidden");
    c.latent = j.at("latent");
    c.likelihood = parse_likelihood(j.value("likelihood", std::string("bernoulli")));
    c.sigma = j.value("sigma", 1.0f);
    c.variational = j.value("variational", true);
    return c;
}

TrainTask sentence_task(SentenceVAE& model, const data::Vocabulary& vocab, const data::SentenceDataset& train,
                        const data::SentenceDataset* valid, std::size_t batch_size, bool bucketing, float free_bits) {
    TrainTask t;
    t.model = &model;
    t.name = "sentence_vae";
    t.config = to_json(model.config);
    t.config["vocabulary"] = vocab.words();
    t.item_name = "tokens";
    t.plan = [&train, batch_size, bucketing](std::uint64_t seed) {
        return data::plan_batches(train, batch_size, true, seed, bucketing);
    };
    t.loss = [&model, &train, free_bits](const std::vector<std::size_t>& rows, float beta) {
        return model.loss(train.batch(rows), beta, free_bits);
    };
    t.items = [&train](const std::vector<std::size_t>& rows) {
        std::size_t n = 0;
        for (auto r : rows) n += train.length(r);
        return n;
    };
    if (valid)
        t.validate = [&model, valid]() -> json {
            const TextMetrics m = evaluate(model, *valid);
            return {{"nll", m.nll}, {"kl", m.kl}, {"neg_elbo", m.neg_elbo()}, {"ppl_elbo", m.ppl_elbo()}};
        };
    return t;
}

TrainTask image_task(ImageVAE& model, const data::ImageSet& train, const data::ImageSet* test, data::Binarize mode,
                     std::size_t batch_size, float free_bits) {
    TrainTask t;
    t.model = &model;
    t.name = "image_vae";
    t.config = to_json(model.config);
    t.config["binarize"] = mode == data::Binarize::none ? "none" : mode == data::Binarize::fixed ? "fixed" : "dynamic";
    t.item_name = "images";
    t.plan = [&train, batch_size](std::uint64_t seed) { return data::plan_image_batches(train.count, batch_size, true, seed); };
    t.loss = [&model, &train, mode, free_bits](const std::vector<std::size_t>& rows, float beta) {
        const autograd::Tensor x(data::image_batch(train, rows, mode, autograd::generator()));
        return model.loss(x, beta, free_bits);
    };
    if (test)
        t.validate = [&model, test, mode]() -> json {
            const ImageMetrics m = evaluate(model, *test, mode);
            return {{"nll", m.recon}, {"kl", m.kl}, {"neg_elbo", m.neg_elbo()}};
        };
    return t;
}

}  // namespace tapegrad::models::vae
