// Module: named, ordered parameters and submodules, train/eval mode.
// A layer is a Module whose parameters are public Tensor members, registered in its
// constructor; forward() is an ordinary (non-virtual) member with its own types.
// Read next: layers.hpp (Linear, Embedding, Dropout), rnn.hpp (GRU, LSTM).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.hpp"

namespace tapegrad::nn {

using autograd::Tensor;

class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    // A module holds pointers to its registered submodules (members of itself), so
    // it can be neither copied nor moved; hold variable numbers of modules by pointer.
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // Every parameter of this module and its submodules, with dotted names
    // ("encoder.weight_ih_l0"): the module's own first, then each submodule's, each
    // in registration order (PyTorch's order, so state_dicts line up).
    std::vector<std::pair<std::string, Tensor>> named_parameters() const;
    std::vector<Tensor> parameters() const;
    std::size_t num_parameters() const;  // total number of scalars
    // The parameter with this dotted name; throws naming the known ones otherwise.
    Tensor parameter(const std::string& dotted_name) const;

    void zero_grad();
    // Training mode (dropout active) or evaluation mode, for this module and every submodule.
    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

protected:
    // Makes `value` a parameter (a leaf that requires a gradient) named `name`.
    Tensor register_parameter(const std::string& name, Array value);
    // Registers a member module under `name`; its parameters become "name.*".
    void register_module(const std::string& name, Module& child);

private:
    void prefix_names(const std::string& prefix);
    std::vector<std::pair<std::string, Tensor>> params_;
    std::vector<std::pair<std::string, Module*>> children_;
    bool training_ = true;
};

// Puts a module in evaluation mode for a scope and restores its previous mode.
class EvalGuard {
public:
    explicit EvalGuard(Module& m) : module_(m), was_training_(m.is_training()) { m.eval(); }
    ~EvalGuard() { module_.train(was_training_); }
    EvalGuard(const EvalGuard&) = delete;
    EvalGuard& operator=(const EvalGuard&) = delete;

private:
    Module& module_;
    bool was_training_;
};

}  // namespace tapegrad::nn
