// Tensor: a shared handle to a value, its gradient and its place on the tape.
// Copying a Tensor copies the handle, not the data (as in PyTorch).
// Read next: tape.hpp (how ops record themselves), ops/*.hpp (the op set).
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>

#include "autograd/array.hpp"

namespace tapegrad::autograd {

// The state behind a Tensor handle. Users work with Tensor; the tape works with Node.
struct Node {
    Array value;
    Array grad;                     // the adjoint dL/d(value) while backward() runs; for leaves,
                                    // the accumulated gradient afterwards
    bool has_grad = false;          // an xarray is never "empty" (a default one is 0-d), hence a flag
    bool requires_grad = false;
    std::int64_t entry = -1;        // index of the tape entry that produced this value; -1 for leaves
    std::uint64_t generation = 0;   // which tape `entry` belongs to (a cleared tape starts a new one)
    std::string name;               // shown when printing the tape; parameters carry their dotted name
    std::uint64_t version = 0;      // counts in-place changes (mutable_value()), checked by backward()
    bool retains_grad = false;      // an op's output that keeps its adjoint after the sweep (retain_grad())
    // For leaves: the first tape entry that used this leaf. The reverse sweep adds
    // the last contribution to its gradient there, so that is when the gradient is
    // complete and grad_ready (if set) is called.
    std::int64_t first_use = -1;
    std::uint64_t first_use_generation = 0;
    std::function<void()> grad_ready;
    // An op's output whose value no backward rule reads is freed as soon as no
    // Tensor handle holds it (tape.hpp, Reads): the tape keeps the node, to route
    // gradients through it, but not its value. Counted for op outputs only (entry
    // >= 0), which the thread of their tape makes; leaves are never freed.
    int handles = 0;        // live Tensor handles to this node
    int readers = 0;        // tape entries whose rule reads this value
    bool value_freed = false;
    Shape freed_shape;      // the value's shape, once the value is freed
    Shape shape() const { return value_freed ? freed_shape : shape_of(value); }
};

class Tensor {
public:
    Tensor() = default;  // an undefined handle; most operations on it throw
    explicit Tensor(Array value, bool requires_grad = false);
    explicit Tensor(std::shared_ptr<Node> node) : node_(std::move(node)) { hold(); }
    // Copies count as handles (Node::handles); a moved-from Tensor is undefined.
    Tensor(const Tensor& other) : node_(other.node_) { hold(); }
    Tensor(Tensor&& other) noexcept = default;
    Tensor& operator=(Tensor other) noexcept {
        std::swap(node_, other.node_);
        return *this;
    }
    ~Tensor() {
        if (node_ && node_->entry >= 0) let_go();
    }

    bool defined() const { return node_ != nullptr; }
    const Array& value() const;
    // Writable value for in-place updates of leaves (optimisers, initialisers).
    // Throws for a tensor recorded on the tape, whose value a backward rule may still
    // read. Counts as a change of the value: backward() refuses to run a rule whose
    // input was changed after the rule was recorded.
    Array& mutable_value();

    bool requires_grad() const;
    Tensor& set_requires_grad(bool on);
    bool is_leaf() const;  // not produced by a recorded op (parameters, inputs, constants)
    bool has_grad() const;
    const Array& grad() const;  // throws when there is no gradient (yet)
    Array& mutable_grad();      // for gradient clipping and tests
    void set_grad(Array grad);  // sets the gradient outright (same shape as the value)
    void zero_grad();           // drops the gradient, as PyTorch's zero_grad(set_to_none=True)
    // For a leaf: `hook` runs inside backward() as soon as this leaf's gradient is
    // complete (the sweep has passed its every use), e.g. to update it and free
    // the gradient at once (Optimizer::update_during_backward). An empty hook removes it.
    void on_grad_ready(std::function<void()> hook);
    // For the output of a recorded op: backward() keeps its gradient dL/d(this)
    // instead of freeing it as it passes (PyTorch's retain_grad()), so that grad()
    // can read it afterwards. For looking inside a graph while debugging; it costs
    // one copy of the adjoint. A leaf keeps its gradient anyway.
    Tensor& retain_grad();

    const std::string& name() const;
    Tensor& set_name(std::string name);

    Shape shape() const { return shape_of(value()); }
    std::size_t ndim() const { return value().dimension(); }
    std::size_t size() const { return value().size(); }
    std::size_t dim(int axis) const;  // negative axes count from the end
    float item() const;               // the value of a one-element tensor

    // Reverse sweep from this tensor (see tape.hpp). Without a seed the tensor must have
    // one element and the seed is 1; otherwise the seed has the tensor's shape.
    void backward() const;
    void backward(const Array& seed) const;
    void backward(Array&& seed) const;  // takes the seed over instead of copying it

    // A new leaf holding a copy of the value, cut off from the tape.
    Tensor detach() const;

    const std::shared_ptr<Node>& node() const { return node_; }

private:
    Node& checked() const;
    void hold() {
        if (node_ && node_->entry >= 0) ++node_->handles;
    }
    void let_go();  // the last handle of a value no rule reads frees it
    std::shared_ptr<Node> node_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace tapegrad::autograd
