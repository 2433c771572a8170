#include "nn/optim.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "autograd/kernels/adam.hpp"
#include "autograd/kernels/simd.hpp"
#include "autograd/profiler.hpp"
#include "autograd/tape.hpp"

namespace tapegrad::nn {

Optimizer::Optimizer(std::vector<Tensor> params, float lr_) : lr(lr_), params_(std::move(params)) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
        if (!params_[i].defined()) throw Error("optimizer: parameter " + std::to_string(i) + " is an undefined Tensor");
        if (!params_[i].is_leaf() || !params_[i].requires_grad())
            throw Error("optimizer: parameter " + key(i) + " must be a leaf that requires a gradient");
    }
}

Optimizer::~Optimizer() {
    for (Tensor& p : params_) p.on_grad_ready({});  // hooks must not outlive the optimiser
}

void Optimizer::step() {
    autograd::NoGradGuard no_grad;
    start();
    for (std::size_t i = 0; i < params_.size(); ++i)
        if (params_[i].has_grad()) update(i);
}

void Optimizer::update_during_backward() {
    for (std::size_t i = 0; i < params_.size(); ++i)
        params_[i].on_grad_ready([this, i] {
            autograd::NoGradGuard no_grad;
            const auto t = std::chrono::steady_clock::now();
            update(i);
            params_[i].zero_grad();
            if (autograd::Profiler::enabled())  // shown as its own row, not inside the op that triggered it
                autograd::Profiler::add("(optimiser update)", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
        });
}

void Optimizer::zero_grad() {
    for (Tensor& p : params_) p.zero_grad();
}

std::string Optimizer::key(std::size_t i) const {
    const std::string& n = params_[i].name();
    return n.empty() ? "param" + std::to_string(i) : n;
}

namespace {
// Looks up "<prefix>/<key>" in a saved state, checking its shape.
const Array& find(const OptimizerState& st, const std::string& name, const Shape& shape, std::string& errors) {
    static const Array none;
    for (const auto& [n, a] : st)
        if (n == name) {
            if (shape_of(a) != shape) {
                errors += "\n  " + name + ": saved shape " + shape_str(a.shape()) + ", parameter shape " + shape_str(shape);
                return none;
            }
            return a;
        }
    errors += "\n  " + name + ": missing";
    return none;
}
void throw_if(const std::string& errors, const char* who) {
    if (!errors.empty()) throw Error(std::string(who) + ": cannot load the optimiser state:" + errors);
}
}  // namespace

SGD::SGD(std::vector<Tensor> params, const SGDOptions& o) : Optimizer(std::move(params), o.lr), options(o) {
    if (o.nesterov && (o.momentum <= 0.0f || o.dampening != 0.0f))
        throw Error("SGD: Nesterov momentum needs momentum > 0 and dampening = 0");
}

void SGD::update(std::size_t i) {
    if (momentum_.empty()) {
        momentum_.resize(params_.size());
        has_momentum_.assign(params_.size(), false);
    }
    Tensor& p = params_[i];
    Array& w = p.mutable_value();
    Array d = p.grad();
    if (options.weight_decay != 0.0f) d += options.weight_decay * w;
    if (options.momentum != 0.0f) {
        Array& buf = momentum_[i];
        if (!has_momentum_[i]) {
            buf = d;  // the first update: the buffer starts as the gradient (as PyTorch)
            has_momentum_[i] = true;
        } else
            buf = options.momentum * buf + (1.0f - options.dampening) * d;
        if (options.nesterov)
            d += options.momentum * buf;
        else
            d = buf;
    }
    w -= lr * d;
}

OptimizerState Optimizer::state() const {
    OptimizerState st;
    visit_state([&](const std::string& name, const Array& a) { st.emplace_back(name, a); });
    return st;
}

void SGD::visit_state(const std::function<void(const std::string&, const Array&)>& f) const {
    if (options.momentum != 0.0f)
        for (std::size_t i = 0; i < momentum_.size(); ++i)
            if (has_momentum_[i]) f("momentum/" + key(i), momentum_[i]);
}

void SGD::load_state(const OptimizerState& st) {
    // A parameter never updated before the save has no buffer (and starts afresh).
    std::string errors;
    std::vector<Array> momentum(params_.size());
    std::vector<bool> has(params_.size(), false);
    for (std::size_t i = 0; i < params_.size(); ++i)
        for (const auto& [n, a] : st)
            if (n == "momentum/" + key(i)) {
                if (shape_of(a) != params_[i].shape())
                    errors += "\n  " + n + ": saved shape " + shape_str(a.shape()) + ", parameter shape " +
                              shape_str(params_[i].shape());
                momentum[i] = a;
                has[i] = true;
            }
    throw_if(errors, "SGD");
    momentum_ = std::move(momentum);
    has_momentum_ = std::move(has);
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o, bool decoupled)
    : Optimizer(std::move(params), o.lr), options(o), decoupled_(decoupled) {
    if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1))
        throw Error("Adam: betas must lie in [0, 1), got " + std::to_string(o.beta1) + ", " + std::to_string(o.beta2));
    m_.resize(params_.size());
    v_.resize(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) {
        m_[i] = zeros(params_[i].shape());
        v_[i] = zeros(params_[i].shape());
    }
}

// Kingma & Ba 2015, Algorithm 1, as torch.optim.Adam computes it:
//   g' = g + wd * w (Adam) or w' = w (1 - lr wd) first (AdamW, decoupled)
//   m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
//   w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
void Adam::update(std::size_t i) {
    const float b1 = options.beta1, b2 = options.beta2, wd = options.weight_decay;
    const float bc1 = 1.0f - std::pow(b1, static_cast<float>(step_));
    const float bc2_sqrt = std::sqrt(1.0f - std::pow(b2, static_cast<float>(step_)));
    const kernels::AdamConstants c{.b1 = b1,
                                   .b2 = b2,
                                   .eps = options.eps,
                                   .step_size = lr / bc1,
                                   .inv_bc2_sqrt = 1.0f / bc2_sqrt,
                                   .decay = decoupled_ ? 1.0f - lr * wd : 1.0f,
                                   .l2 = decoupled_ ? 0.0f : wd};
    Tensor& p = params_[i];
    kernels::adam_update(p.mutable_value().data(), p.grad().data(), m_[i].data(), v_[i].data(), p.size(), c);
}

void Adam::visit_state(const std::function<void(const std::string&, const Array&)>& f) const {
    f("step", Array(static_cast<float>(step_)));
    for (std::size_t i = 0; i < params_.size(); ++i) {
        f("exp_avg/" + key(i), m_[i]);
        f("exp_avg_sq/" + key(i), v_[i]);
    }
}

void Adam::load_state(const OptimizerState& st) {
    std::string errors;
    const Array& s = find(st, "step", {}, errors);
    std::vector<Array> m(params_.size()), v(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) {
        m[i] = find(st, "exp_avg/" + key(i), params_[i].shape(), errors);
        v[i] = find(st, "exp_avg_sq/" + key(i), params_[i].shape(), errors);
    }
    // The step count is saved as a float (PyTorch's layout): a whole number that a long
    // holds (2^63), or converting it would be undefined.
    if (errors.empty() && !(s() >= 0.0f && s() < 9223372036854775808.0f && s() == std::floor(s())))
        errors += "\n  step: saved value " + std::to_string(s()) + " is not a step count";
    throw_if(errors, "Adam");
    step_ = static_cast<long>(s());
    m_ = std::move(m);
    v_ = std::move(v);
}

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm) {
    double total = 0.0;
    for (const Tensor& p : params)
        if (p.has_grad()) total += kernels::sum_of_squares(p.grad().data(), p.grad().size());
    const float norm = static_cast<float>(std::sqrt(total));
    const float coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f)
        for (Tensor p : params)
            if (p.has_grad()) kernels::scale(coef, p.mutable_grad().data(), p.mutable_grad().size());
    return norm;
}

LinearWarmup::LinearWarmup(Optimizer& opt, long warmup, long taken)
    : opt_(opt), warmup_(warmup), taken_(taken), base_(opt.lr) {
    if (warmup < 0) throw Error("LinearWarmup: warmup_steps " + std::to_string(warmup) + " must not be negative");
    if (taken < 0) throw Error("LinearWarmup: steps_taken " + std::to_string(taken) + " must not be negative");
    opt_.lr = lr_at(taken_);
}
float LinearWarmup::lr_at(long t) const {
    if (warmup_ == 0) return base_;
    return base_ * std::min(1.0f, static_cast<float>(t + 1) / static_cast<float>(warmup_));
}
void LinearWarmup::step() { opt_.lr = lr_at(++taken_); }

StepLR::StepLR(Optimizer& opt, int step_size, float gamma) : opt_(opt), step_size_(step_size), gamma_(gamma), base_(opt.lr) {
    if (step_size <= 0) throw Error("StepLR: step_size must be positive");
}
void StepLR::step() {
    ++epoch_;
    opt_.lr = base_ * std::pow(gamma_, static_cast<float>(epoch_ / step_size_));
}

ExponentialLR::ExponentialLR(Optimizer& opt, float gamma) : opt_(opt), gamma_(gamma), base_(opt.lr) {}
void ExponentialLR::step() {
    ++epoch_;
    opt_.lr = base_ * std::pow(gamma_, static_cast<float>(epoch_));
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, const PlateauOptions& o)
    : opt_(opt), o_(o), best_(std::numeric_limits<float>::infinity()) {
    if (!(o.factor > 0.0f && o.factor < 1.0f)) throw Error("ReduceLROnPlateau: factor must lie in (0, 1)");
}

void ReduceLROnPlateau::step(float metric) {
    if (metric < best_ * (1.0f - o_.threshold)) {
        best_ = metric;
        bad_epochs_ = 0;
    } else {
        ++bad_epochs_;
    }
    if (cooldown_left_ > 0) {
        --cooldown_left_;
        bad_epochs_ = 0;
    }
    if (bad_epochs_ > o_.patience) {
        opt_.lr = std::max(opt_.lr * o_.factor, o_.min_lr);
        cooldown_left_ = o_.cooldown;
        bad_epochs_ = 0;
    }
}

}  // namespace tapegrad::nn
