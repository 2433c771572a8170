// Checkpoints: a module's parameters, an optimiser's state and a metadata record in
// one NumPy-readable .npz, written atomically. Layout (docs/nn.md):
//   model/<dotted parameter name>   float32, PyTorch's names and layouts
//   optim/<state key>               float32 (e.g. optim/exp_avg/encoder.weight_ih_l0)
//   meta                            uint8: UTF-8 JSON text (config, step, vocabulary, ...)
// In Python: f = numpy.load("ckpt.npz"); f["model/embedding.weight"];
//            json.loads(f["meta"].tobytes())
#pragma once

#include <string>

#include "nn/module.hpp"
#include "nn/optim.hpp"

namespace tapegrad::nn {

// Saves model (and optimiser, if given) with the JSON text `meta` (default "{}").
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer = nullptr,
                     const std::string& meta_json = "{}");

// Loads into model (and optimiser, if given) and returns the metadata JSON text.
// Every parameter of the model must be in the file with the same shape, and the file
// must hold no parameter the model lacks; all mismatches are reported in one error.
// Nothing is changed unless everything fits.
std::string load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer = nullptr);

// Just the metadata of a checkpoint (e.g. to rebuild a model from its config first).
std::string read_checkpoint_meta(const std::string& path);

}  // namespace tapegrad::nn
