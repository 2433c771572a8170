// The two VAEs as training tasks, and their configurations as JSON (what a
// checkpoint records, so that a model can be rebuilt from it).
#pragma once

#include <nlohmann/json.hpp>

#include "models/data/images.hpp"
#include "models/data/text.hpp"
#include "models/vae/image_vae.hpp"
#include "models/vae/sentence_vae.hpp"
#include "models/vae/train.hpp"

namespace tapegrad::models::vae {

nlohmann::json to_json(const SentenceVAEConfig& c);
SentenceVAEConfig sentence_config_from_json(const nlohmann::json& j);
nlohmann::json to_json(const ImageVAEConfig& c);
ImageVAEConfig image_config_from_json(const nlohmann::json& j);

// Trains on `train`, validating on `valid` (if given) after each epoch. The task
// keeps references: the model and data must outlive it.
TrainTask sentence_task(SentenceVAE& model, const data::Vocabulary& vocab, const data::SentenceDataset& train,
                        const data::SentenceDataset* valid, std::size_t batch_size, bool bucketing = false,
                        float free_bits = 0.0f);
TrainTask image_task(ImageVAE& model, const data::ImageSet& train, const data::ImageSet* test, data::Binarize mode,
                     std::size_t batch_size, float free_bits = 0.0f);

}  // namespace tapegrad::models::vae
