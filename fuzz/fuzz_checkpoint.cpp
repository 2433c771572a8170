// Fuzzes the checkpoint loader: the bytes as a checkpoint of a small two-layer model
// with its Adam state (the seeds in corpus/checkpoint are such checkpoints), loaded
// into the model and optimiser, and its metadata read on its own.
// A tapegrad::Error is the expected answer to bad input; anything else is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz/common.hpp"
#include "nn/nn.hpp"

using namespace tapegrad;

namespace {
struct Small : nn::Module {
    Small() {
        register_module("fc", fc);
        register_module("out", out);
    }
    nn::Linear fc{2, 2}, out{2, 1};
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::ScratchFile file("checkpoint.npz");
    static Small model;
    static nn::Adam optimizer(model.parameters());
    const std::string& path = file.write(data, size);
    try {
        nn::load_checkpoint(path, model, &optimizer);
    } catch (const Error& e) {
        fuzz::refused(e);
    }
    try {
        nn::read_checkpoint_meta(path);
    } catch (const Error& e) {
        fuzz::refused(e);
    }
    return 0;
}
