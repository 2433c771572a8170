// Optimisers (SGD, Adam, AdamW), gradient clipping and learning-rate schedules.
// The update formulas follow torch.optim exactly (tests compare step by step with
// PyTorch). Each optimiser updates parameters in place, skipping those without a
// gradient, and can export / import its state for checkpoints.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "autograd/tensor.hpp"

namespace tapegrad::nn {

using autograd::Tensor;

// Named arrays an optimiser saves in a checkpoint (e.g. "exp_avg/encoder.weight").
using OptimizerState = std::vector<std::pair<std::string, Array>>;

class Optimizer {
public:
    explicit Optimizer(std::vector<Tensor> params, float lr);
    virtual ~Optimizer();
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // Updates every parameter that has a gradient.
    void step();
    void zero_grad();

    // From now on, backward() itself updates each parameter the moment its gradient
    // is complete and then drops that gradient, so the gradients of the whole model
    // never exist at once (they are the model's size). Call begin_step() before each
    // forward pass instead of step() after backward(). Same numbers as
    // backward(); step(); zero_grad() with one backward() per step; not for gradient
    // clipping or accumulation over several backward() calls, which need every
    // gradient first.
    void update_during_backward();
    void begin_step() { start(); }
    float lr;
    const std::vector<Tensor>& params() const { return params_; }

    // The state's arrays by reference, one at a time (no copies: checkpoints stream them).
    virtual void visit_state(const std::function<void(const std::string&, const Array&)>& f) const = 0;
    OptimizerState state() const;  // the same, copied
    // Restores a state from state(); throws naming every missing or mis-shaped entry.
    virtual void load_state(const OptimizerState& state) = 0;

protected:
    // A step is start() and then update(i) for each parameter with a gradient.
    virtual void start() {}
    virtual void update(std::size_t i) = 0;
    // A key per parameter for the state: its name, or "param<i>" when unnamed.
    std::string key(std::size_t i) const;
    std::vector<Tensor> params_;
};

struct SGDOptions {
    float lr = 0.01f;
    float momentum = 0.0f;
    float dampening = 0.0f;
    float weight_decay = 0.0f;
    bool nesterov = false;
};

// v = momentum * v + (1 - dampening) * (g + wd * p);  p -= lr * (nesterov ? g + momentum * v : v)
class SGD : public Optimizer {
public:
    SGD(std::vector<Tensor> params, const SGDOptions& options);
    void visit_state(const std::function<void(const std::string&, const Array&)>& f) const override;
    void load_state(const OptimizerState& state) override;
    SGDOptions options;

private:
    void update(std::size_t i) override;
    std::vector<Array> momentum_;  // per parameter
    std::vector<bool> has_momentum_;  // false until the parameter's first update
};

struct AdamOptions {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;  // Adam: added to the gradient (L2); AdamW: decoupled (p *= 1 - lr * wd)
};

// Kingma & Ba 2015: m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
class Adam : public Optimizer {
public:
    Adam(std::vector<Tensor> params, const AdamOptions& options = {}, bool decoupled_weight_decay = false);
    void visit_state(const std::function<void(const std::string&, const Array&)>& f) const override;
    void load_state(const OptimizerState& state) override;
    AdamOptions options;
    long steps() const { return step_; }

private:
    void start() override { ++step_; }
    void update(std::size_t i) override;
    bool decoupled_;
    long step_ = 0;
    std::vector<Array> m_, v_;
};

// Loshchilov & Hutter 2019: Adam with decoupled weight decay, p *= 1 - lr * wd
// before the Adam step. Its own options, so the default decay (1e-2, as PyTorch)
// stays when only some fields are given: AdamW(ps, {.lr = 3e-4f}).
struct AdamWOptions {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 1e-2f;
};
class AdamW : public Adam {
public:
    AdamW(std::vector<Tensor> params, const AdamWOptions& o = {})
        : Adam(std::move(params), {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay}, true) {}
};

// Scales all gradients together so that their global L2 norm is at most max_norm.
// Returns the norm before clipping (as torch.nn.utils.clip_grad_norm_).
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

// Linear warm-up: update number t + 1 (t updates taken so far) uses
// lr = base * min(1, (t + 1) / warmup_steps), constant afterwards (warm-up 0: off).
// Call step() after each optimiser update; the first lr is set at construction.
class LinearWarmup {
public:
    LinearWarmup(Optimizer& opt, long warmup_steps, long steps_taken = 0);
    void step();
    long steps_taken() const { return taken_; }
    float lr_at(long steps_taken) const;

private:
    Optimizer& opt_;
    long warmup_, taken_;
    float base_;
};

// lr = base * gamma^(epoch / step_size)
class StepLR {
public:
    StepLR(Optimizer& opt, int step_size, float gamma = 0.1f);
    void step();  // call once per epoch
private:
    Optimizer& opt_;
    int step_size_;
    float gamma_, base_;
    int epoch_ = 0;
};

// lr = base * gamma^epoch
class ExponentialLR {
public:
    ExponentialLR(Optimizer& opt, float gamma);
    void step();
private:
    Optimizer& opt_;
    float gamma_, base_;
    int epoch_ = 0;
};

// Multiplies lr by `factor` after `patience` epochs without improvement of a metric
// (mode min, relative threshold), then waits `cooldown` epochs; never below min_lr.
struct PlateauOptions {
    float factor = 0.1f;
    int patience = 10;
    float threshold = 1e-4f;  // relative: improved if metric < best * (1 - threshold)
    int cooldown = 0;
    float min_lr = 0.0f;
};
class ReduceLROnPlateau {
public:
    ReduceLROnPlateau(Optimizer& opt, const PlateauOptions& options = {});
    void step(float metric);
private:
    Optimizer& opt_;
    PlateauOptions o_;
    float best_;
    int bad_epochs_ = 0, cooldown_left_ = 0;
};

}  // namespace tapegrad::nn
