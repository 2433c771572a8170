// The tape (a Wengert list): every op appends one Entry (op name, output, inputs,
// backward rule) in execution order; backward() walks it once in reverse.
// Read next: docs/autograd.md for a worked example; ops/*.cpp for the rules.
#pragma once

#include <functional>
#include <iosfwd>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

// Which values a backward rule reads besides the adjoint (what PyTorch's
// save_for_backward names): its output, and a bit per input. The tape frees an
// op's output as soon as no Tensor handle holds it and no recorded rule reads it,
// so an op that declares what its rule reads lets the forward pass drop the rest
// (add's, dropout's and reshape's rules read no value at all). record() without
// a Reads means every value; a rule that reads an undeclared value is an error.
struct Reads {
    bool output = false;
    std::uint32_t inputs = 0;  // bit i: input i
    bool input(std::size_t i) const { return i < 32 ? (inputs >> i) & 1u : inputs == ~0u; }
};
inline constexpr Reads reads_all{true, ~0u};
inline constexpr Reads reads_nothing{false, 0};
inline constexpr Reads reads_output{true, 0};
inline constexpr Reads reads_inputs{false, ~0u};
constexpr Reads reads_input(std::size_t i) { return {false, 1u << i}; }
// For a product y = a * b (mul, matmul, linear), whose rule reads b for da and a
// for db: each operand is kept only if the other one wants a gradient.
inline Reads reads_for_product(const Tensor& a, const Tensor& b) {
    return {false, (b.requires_grad() ? 1u : 0u) | (a.requires_grad() ? 2u : 0u)};
}

// What a backward rule sees: the output's adjoint, the values of output and inputs
// it declared in its Reads, and the shapes of all of them.
class Step {
public:
    Step(Array& grad, const Node& output, std::span<const std::shared_ptr<Node>> inputs, Reads reads,
         const char* op)
        : grad(grad), adjoint_(grad), output_(output), inputs_(inputs), reads_(reads), op_(op) {}

    const Array& grad;  // dL/d(output), in the output's shape

    const Array& output() const {
        if (!reads_.output) undeclared("its output");
        return output_.value;
    }
    const Array& input(std::size_t i) const {
        if (!reads_.input(i)) undeclared("input " + std::to_string(i));
        return inputs_[i]->value;
    }
    Shape input_shape(std::size_t i) const { return inputs_[i]->shape(); }
    std::size_t num_inputs() const { return inputs_.size(); }
    // Whether input i wants a gradient; a rule computes only those (see Grads).
    bool needs_grad(std::size_t i) const { return inputs_[i]->requires_grad; }
    // Moves the adjoint out (it is freed right after the rule anyway): lets a rule
    // that passes the gradient through unchanged (add, reshape) avoid a copy.
    // `grad` must not be read after this.
    Array take_grad() { return std::move(adjoint_); }

private:
    [[noreturn]] void undeclared(const std::string& what) const;
    Array& adjoint_;
    const Node& output_;
    std::span<const std::shared_ptr<Node>> inputs_;
    Reads reads_;
    const char* op_;
};

// A backward rule's answer: one gradient per input, in the output's shape or the
// input's (the sweep sums broadcast gradients back to the input's shape), or none.
// A rule starts from `Grads g(s)`, one empty slot per input, and fills the slots
// of the inputs that need a gradient:
//     Grads g(s);
//     if (s.needs_grad(0)) g[0] = s.grad * s.input(1);
//     if (s.needs_grad(1)) g[1] = s.grad * s.input(0);
//     return g;
// An op with one input returns its gradient directly, `return {s.grad * y};`: its
// entry exists only because that input needs a gradient.
class Grads {
public:
    explicit Grads(const Step& s) : slots_(s.num_inputs()) {}
    template <class E>
        requires(!std::is_same_v<std::decay_t<E>, Grads> && !std::is_same_v<std::decay_t<E>, Step>)
    Grads(E&& grad) {
        slots_.emplace_back(Array(std::forward<E>(grad)));
    }

    std::size_t size() const { return slots_.size(); }
    std::optional<Array>& operator[](std::size_t i) { return slots_[i]; }

private:
    std::vector<std::optional<Array>> slots_;
};

using BackwardRule = std::function<Grads(Step&)>;

struct Entry {
    const char* op = nullptr;
    std::shared_ptr<Node> output;
    std::vector<std::shared_ptr<Node>> inputs;
    std::vector<std::uint64_t> versions;  // the inputs' versions when the op ran (Node::version)
    BackwardRule rule;
    Reads reads = reads_all;
};

// The single door into the tape. Returns a Tensor holding `value`; when gradients
// are enabled and an input requires one, it appends an Entry so that backward()
// can apply `rule`. Otherwise it records nothing and returns a constant.
// `reads` says which values the rule reads (Reads); without it, all of them.
Tensor record(const char* op, Array value, std::span<const Tensor> inputs, Reads reads, BackwardRule rule);
inline Tensor record(const char* op, Array value, std::initializer_list<Tensor> inputs, Reads reads,
                     BackwardRule rule) {
    return record(op, std::move(value), std::span<const Tensor>(inputs.begin(), inputs.size()), reads,
                  std::move(rule));
}
inline Tensor record(const char* op, Array value, std::span<const Tensor> inputs, BackwardRule rule) {
    return record(op, std::move(value), inputs, reads_all, std::move(rule));
}
inline Tensor record(const char* op, Array value, std::initializer_list<Tensor> inputs,
                     BackwardRule rule) {
    return record(op, std::move(value), std::span<const Tensor>(inputs.begin(), inputs.size()), reads_all,
                  std::move(rule));
}

// One tape per thread. backward() consumes it: after the sweep the tape is
// cleared, so each training step starts empty and memory does not grow. Tensors
// computed on a consumed tape can still be read, but not differentiated again
// (using them as inputs to new ops that need gradients throws).
class Tape {
public:
    static Tape& current();

    std::size_t size() const { return entries_.size(); }
    const Entry& operator[](std::size_t i) const { return entries_[i]; }
    std::uint64_t generation() const { return generation_; }

    // Drops every entry (and what they keep alive); tensors recorded so far become
    // plain values. Use it to throw away a graph you will not differentiate.
    void clear();

    // One line per entry: index, op, inputs (name, #entry or const) with shapes, output shape.
    void print(std::ostream& os) const;
    // The same graph in Graphviz DOT (`dot -Tpng tape.dot -o tape.png`).
    void write_dot(std::ostream& os) const;

private:
    friend Tensor record(const char*, Array, std::span<const Tensor>, Reads, BackwardRule);
    friend void backward(const Tensor&, Array);
    std::vector<Entry> entries_;
    std::uint64_t generation_ = 1;
    std::size_t largest_swept_ = 0;  // the most entries backward() has swept on this tape
    bool warned_growth_ = false;
};

// The reverse sweep: seeds dL/d(root) = seed, visits the entries from the root's
// back to the first, applies each rule whose output received a gradient, sums the
// input gradients (undoing broadcasting), and frees each adjoint once used.
// Leaves accumulate (+=) across calls until zero_grad(). Clears the tape.
void backward(const Tensor& root, Array seed);

bool is_grad_enabled();

// While alive, ops record nothing (evaluation, sampling, optimiser updates).
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

// Anomaly detection (as PyTorch's detect_anomaly), off by default: while on, every
// value an op computes and every gradient a rule returns is checked for NaN and
// infinity, and the first one found is an Error naming the op, its tape index, its
// inputs' shapes and the ops recorded just before it. It costs a pass over every
// value; use it to find where a training run diverged.
void set_detect_anomaly(bool on);
bool is_anomaly_detection_enabled();
class DetectAnomalyGuard {
public:
    explicit DetectAnomalyGuard(bool on = true);
    ~DetectAnomalyGuard();
    DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
    DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

private:
    bool previous_;
};

// Watches this thread's tape from outside (the profiler, profiler.hpp, is one):
// told when an entry is recorded, before and after the sweep applies an entry's
// rule (the "after" comes once its gradients are accumulated and the hooks of the
// leaves it completed have run), and when a sweep ends.
class TapeObserver {
public:
    virtual ~TapeObserver() = default;
    virtual void recorded(const char* op) = 0;
    virtual void rule_started(const char* op) = 0;
    virtual void rule_finished(const char* op) = 0;
    virtual void sweep_finished() = 0;
};
// Sets this thread's observer (nullptr: none); returns the previous one.
TapeObserver* set_tape_observer(TapeObserver* observer);

// Throws away whatever the current tape holds when the scope ends (e.g. a
// forward pass whose graph will not be differentiated).
class TapeScope {
public:
    TapeScope() = default;
    ~TapeScope() { Tape::current().clear(); }
    TapeScope(const TapeScope&) = delete;
    TapeScope& operator=(const TapeScope&) = delete;
};

// Sums a gradient over the axes that broadcasting expanded, so that it gets `shape`.
// The one place where broadcasting is undone. A gradient that does not broadcast to
// `shape` is an error naming both shapes.
Array sum_to(const Array& grad, const Shape& shape);

}  // namespace tapegrad::autograd
