// The tape (a Wengert list): every op appends one Entry (op name, output, inputs,
// backward rule) in execution order; backward() walks it once in reverse.
// Read next: docs/autograd.md for a worked example; ops/*.cpp for the rules.
#pragma once

#include <functional>
#include <iosfwd>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/tensor.hpp"

namespace tapegrad::autograd {

class Step;

namespace detail {
// The Step whose rule is running (set by the sweep), so that Grads can skip inputs
// that need no gradient without every rule testing for it.
extern thread_local const Step* running_step;
bool running_step_needs(std::size_t input);
}  // namespace detail

// Marks an input that gets no gradient (an index, a mask, a constant).
struct None {};
inline constexpr None none{};

// A backward rule's answer: one gradient per input, in the output's shape or the
// input's shape (the sweep sums broadcast gradients back to the input's shape).
// Each gradient is evaluated only if that input needs one: rules can hand over
// lazy xtensor expressions and stay one line.
class Grads {
public:
    struct Slot {
        Array value;
        bool defined = false;
    };

    Grads() = default;
    template <class... E>
        requires(sizeof...(E) > 0 && (!std::is_same_v<std::decay_t<E>, Grads> && ...))
    Grads(E&&... grads) {
        slots_.reserve(sizeof...(E));
        (add(std::forward<E>(grads)), ...);
    }

    void add(None) { slots_.emplace_back(); }
    template <class E>
    void add(E&& grad) {
        if (detail::running_step_needs(slots_.size()))
            slots_.push_back(Slot{Array(std::forward<E>(grad)), true});
        else
            slots_.emplace_back();
    }

    std::size_t size() const { return slots_.size(); }
    Slot& operator[](std::size_t i) { return slots_[i]; }

private:
    std::vector<Slot> slots_;
};

// What a backward rule sees: the output's adjoint, the values of output and inputs.
class Step {
public:
    Step(Array& grad, const Node& output, std::span<const std::shared_ptr<Node>> inputs)
        : grad(grad), output_(output), inputs_(inputs) {}

    const Array& grad;  // dL/d(output), in the output's shape

    const Array& output() const { return output_.value; }
    const Array& input(std::size_t i) const { return inputs_[i]->value; }
    std::size_t num_inputs() const { return inputs_.size(); }
    bool needs_grad(std::size_t i) const { return inputs_[i]->requires_grad; }
    // Moves the adjoint out (it is freed right after the rule anyway): lets a rule
    // that passes the gradient through unchanged (add, reshape) avoid a copy.
    // `grad` must not be read after this, which includes the other arguments of
    // the same Grads{...} (they are bound before any is evaluated).
    Array take_grad() { return std::move(const_cast<Array&>(grad)); }

private:
    const Node& output_;
    std::span<const std::shared_ptr<Node>> inputs_;
};

using BackwardRule = std::function<Grads(Step&)>;

struct Entry {
    const char* op = nullptr;
    std::shared_ptr<Node> output;
    std::vector<std::shared_ptr<Node>> inputs;
    BackwardRule rule;
};

// The single door into the tape. Returns a Tensor holding `value`; when gradients
// are enabled and an input requires one, it appends an Entry so that backward()
// can apply `rule`. Otherwise it records nothing and returns a constant.
Tensor record(const char* op, Array value, std::span<const Tensor> inputs, BackwardRule rule);
inline Tensor record(const char* op, Array value, std::initializer_list<Tensor> inputs,
                     BackwardRule rule) {
    return record(op, std::move(value), std::span<const Tensor>(inputs.begin(), inputs.size()),
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
    friend Tensor record(const char*, Array, std::span<const Tensor>, BackwardRule);
    friend void backward(const Tensor&, Array);
    std::vector<Entry> entries_;
    std::uint64_t generation_ = 1;
};

// The reverse sweep: seeds dL/d(root) = seed, visits the entries from the root's
// back to the first, applies each rule whose output received a gradient, sums the
// input gradients (undoing broadcasting), and frees each adjoint once used.
// Leaves accumulate (+=) across calls until zero_grad(). Clears the tape.
void backward(const Tensor& root, Array seed);

bool is_grad_enabled();

// Gives memory freed so far back to the operating system (glibc's malloc_trim):
// worth calling once after loading data, whose many small temporary allocations
// would otherwise stay mapped as holes the tensors of training cannot reuse.
void release_unused_memory();

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

// Where a step's time goes, per op name: forward (the time since the previous
// entry was recorded, i.e. the op's computation and the model code around it) and
// backward (the rule and the accumulation of its gradients). Off by default; when
// off it costs one branch per record() and per sweep step.
struct OpTime {
    std::string op;
    std::size_t calls = 0;
    double forward_ms = 0, backward_ms = 0;
};
class Profiler {
public:
    static void enable(bool on = true);
    static bool enabled();
    static void reset();
    // Starts the clock for the next op's forward time (call at the top of a step,
    // so that batch building is not charged to the first op).
    static void mark();
    // Charges time spent outside the tape (an optimiser step) to a named row. Time
    // added while an op's backward rule runs (a leaf's hook) is left out of that op's row.
    static void add(const std::string& name, double ms);
    static std::vector<OpTime> report();  // sorted by total time, largest first
    static void print(std::ostream& os, double steps = 1.0);  // a table, per step when steps > 1
};

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
// The one place where broadcasting is undone.
Array sum_to(const Array& grad, const Shape& shape);

}  // namespace tapegrad::autograd
