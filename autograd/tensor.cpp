// Tensor handle: accessors with clear errors. backward() and mutable_value(),
// which consult the tape, are defined with it (tape.cpp).
#include "autograd/tensor.hpp"

#include <ostream>

namespace tapegrad::autograd {

Tensor::Tensor(Array value, bool requires_grad) : node_(std::make_shared<Node>()) {
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
}

Node& Tensor::checked() const {
    if (!node_) throw Error("use of an undefined Tensor (default-constructed handle)");
    if (node_->value_freed)
        throw Error("this tensor's value was freed: it is the output of a recorded op that no backward "
                    "rule reads, and every Tensor handle to it had gone (the handle was rebuilt from its node)");
    return *node_;
}

void Tensor::let_go() {
    Node& n = *node_;
    if (--n.handles == 0 && n.readers == 0 && !n.value_freed) {
        n.freed_shape = shape_of(n.value);
        n.value = Array::from_shape({0});
        n.value_freed = true;
    }
}

const Array& Tensor::value() const { return checked().value; }

bool Tensor::requires_grad() const { return checked().requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
    Node& n = checked();
    if (!is_leaf())
        throw Error("set_requires_grad(): only leaves can change requires_grad; use detach()");
    n.requires_grad = on;
    return *this;
}

bool Tensor::is_leaf() const { return checked().entry < 0; }

bool Tensor::has_grad() const { return checked().has_grad; }

const Array& Tensor::grad() const {
    const Node& n = checked();
    if (!n.has_grad) {
        std::string who = n.name.empty() ? "this tensor" : "tensor '" + n.name + "'";
        if (!n.requires_grad)
            throw Error("grad(): " + who + " does not require a gradient");
        if (n.entry >= 0)
            throw Error("grad(): " + who + " is not a leaf; backward() frees the gradients of "
                        "intermediate values as it passes them (call retain_grad() before backward() to keep it)");
        throw Error("grad(): " + who + " has no gradient yet (backward() did not reach it, or "
                    "zero_grad() dropped it)");
    }
    return n.grad;
}

Array& Tensor::mutable_grad() {
    grad();  // the same checks
    return node_->grad;
}

void Tensor::set_grad(Array g) {
    Node& n = checked();
    if (g.shape() != n.value.shape())
        throw Error("set_grad(): gradient of shape " + shape_str(g.shape()) + " for a tensor of shape " +
                    shape_str(n.value.shape()));
    n.grad = std::move(g);
    n.has_grad = true;
}

void Tensor::on_grad_ready(std::function<void()> hook) {
    if (!is_leaf()) throw Error("on_grad_ready(): only leaves have a gradient that becomes complete");
    checked().grad_ready = std::move(hook);
}

Tensor& Tensor::retain_grad() {
    checked().retains_grad = true;
    return *this;
}

void Tensor::zero_grad() {
    Node& n = checked();
    n.grad = Array();
    n.has_grad = false;
}

const std::string& Tensor::name() const { return checked().name; }

Tensor& Tensor::set_name(std::string name) {
    checked().name = std::move(name);
    return *this;
}

std::size_t Tensor::dim(int axis) const {
    const Array& v = value();
    int n = static_cast<int>(v.dimension());
    int a = axis < 0 ? axis + n : axis;
    if (a < 0 || a >= n)
        throw Error("dim(" + std::to_string(axis) + "): axis out of range for shape " +
                    shape_str(v.shape()));
    return v.shape()[static_cast<std::size_t>(a)];
}

float Tensor::item() const {
    const Array& v = value();
    if (v.size() != 1)
        throw Error("item(): tensor has " + std::to_string(v.size()) + " elements (shape " +
                    shape_str(v.shape()) + "), expected exactly one");
    return v.data()[0];
}

Tensor Tensor::detach() const {
    Tensor t(value());
    t.node_->name = checked().name;
    return t;
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
    if (!t.defined()) return os << "Tensor(undefined)";
    os << "Tensor(";
    if (!t.name().empty()) os << t.name() << ", ";
    os << "shape=" << shape_str(t.value().shape());
    if (t.requires_grad()) os << ", requires_grad";
    return os << ")\n" << t.value();
}

}  // namespace tapegrad::autograd
