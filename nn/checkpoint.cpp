#include "nn/checkpoint.hpp"

#include <map>

#include "nn/npz.hpp"

namespace tapegrad::nn {

namespace {
// The metadata record's text: bytes (uint8), never a float array read as empty text.
std::string meta_text(const NpyArray& a, const std::string& path) {
    if (a.dtype != "|u1" && a.dtype != "<u1") throw Error(path + ": entry 'meta' is not uint8 text");
    return a.bytes;
}
}  // namespace

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer, const std::string& meta_json) {
    // One array's bytes in memory at a time, streamed into the archive.
    NpzWriter w(path);
    for (const auto& [name, t] : model.named_parameters()) w.add("model/" + name, npy_bytes(t.value()));
    if (optimizer) optimizer->visit_state([&](const std::string& name, const Array& a) { w.add("optim/" + name, npy_bytes(a)); });
    w.add("meta", npy_bytes(meta_json));
    w.close();
}

std::string load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer) {
    std::map<std::string, Array> model_arrays;
    OptimizerState optim_state;
    std::string meta = "{}";
    for (auto& [name, bytes] : read_npz(path)) {
        NpyArray a = parse_npy(bytes, path + ", entry '" + name + "'");
        if (name == "meta") {
            meta = meta_text(a, path);
        } else if (name.rfind("model/", 0) == 0) {
            if (a.dtype != "<f4") throw Error(path + ": entry '" + name + "' is not float32");
            model_arrays.emplace(name.substr(6), std::move(a.floats));
        } else if (name.rfind("optim/", 0) == 0) {
            if (a.dtype != "<f4") throw Error(path + ": entry '" + name + "' is not float32");
            optim_state.emplace_back(name.substr(6), std::move(a.floats));
        }
    }
    std::string errors;
    auto params = model.named_parameters();
    for (const auto& [name, t] : params) {
        auto it = model_arrays.find(name);
        if (it == model_arrays.end())
            errors += "\n  " + name + ": missing from the file";
        else if (shape_of(it->second) != t.shape())
            errors += "\n  " + name + ": file has shape " + shape_str(it->second.shape()) + ", model has " + shape_str(t.shape());
    }
    for (const auto& [name, a] : model_arrays) {
        bool known = false;
        for (const auto& [n, t] : params) known = known || n == name;
        if (!known) errors += "\n  " + name + ": in the file but not in the model";
    }
    if (!errors.empty()) throw Error(path + ": the checkpoint does not fit the model:" + errors);
    if (optimizer) optimizer->load_state(optim_state);  // checks its own entries, before any parameter changes
    for (auto& [name, t] : params) t.mutable_value() = std::move(model_arrays[name]);
    return meta;
}

std::string read_checkpoint_meta(const std::string& path) {
    for (auto& [name, bytes] : read_npz(path))
        if (name == "meta") return meta_text(parse_npy(bytes, path + ", entry 'meta'"), path);
    return "{}";
}

}  // namespace tapegrad::nn
