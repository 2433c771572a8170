#include "nn/module.hpp"

namespace tapegrad::nn {

Tensor Module::register_parameter(const std::string& name, Array value) {
    for (const auto& [n, t] : params_)
        if (n == name) throw Error("register_parameter: a parameter named '" + name + "' already exists");
    Tensor t(std::move(value), true);
    t.set_name(name);
    params_.emplace_back(name, t);
    return t;
}

void Module::register_module(const std::string& name, Module& child) {
    for (const auto& [n, m] : children_)
        if (n == name) throw Error("register_module: a submodule named '" + name + "' already exists");
    children_.emplace_back(name, &child);
    child.prefix_names(name);
}

// Parameters carry their dotted name for printing the tape; a child registered in a
// parent, itself registered later, gets each prefix as the registrations happen.
void Module::prefix_names(const std::string& prefix) {
    for (auto& [n, t] : named_parameters()) t.set_name(prefix + "." + n);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
    std::vector<std::pair<std::string, Tensor>> out = params_;
    for (const auto& [name, child] : children_)
        for (auto& [n, t] : child->named_parameters()) out.emplace_back(name + "." + n, t);
    return out;
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& [n, t] : named_parameters()) out.push_back(t);
    return out;
}

std::size_t Module::num_parameters() const {
    std::size_t n = 0;
    for (const Tensor& t : parameters()) n += t.size();
    return n;
}

Tensor Module::parameter(const std::string& dotted_name) const {
    std::string known;
    for (auto& [n, t] : named_parameters()) {
        if (n == dotted_name) return t;
        known += (known.empty() ? "" : ", ") + n;
    }
    throw Error("no parameter named '" + dotted_name + "' (parameters: " + known + ")");
}

void Module::zero_grad() {
    for (Tensor t : parameters()) t.zero_grad();
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [n, child] : children_) child->train(on);
}

}  // namespace tapegrad::nn
