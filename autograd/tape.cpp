// The tape: record() appends, backward() sweeps in reverse, print()/write_dot() show it.
// Tensor's own backward() and mutable_value(), which consult the tape, are here too.
#include "autograd/tape.hpp"

#include <algorithm>
#include <iostream>
#include <ostream>

#include "autograd/kernels/simd.hpp"

namespace tapegrad::autograd {

namespace {
thread_local bool grad_enabled = true;
thread_local bool detect_anomaly = false;
thread_local TapeObserver* observer = nullptr;

bool finite(const Array& a) { return kernels::all_finite(a.data(), a.size()); }

// "linear(x[4, 5], W[3, 5]) at tape entry #7, after #4 tanh, #5 mul, #6 sum":
// what an anomaly or a changed input is reported with.
std::string where(const std::vector<Entry>& entries, std::size_t index, const char* op,
                  const std::vector<std::shared_ptr<Node>>& inputs);

// Releases an array's memory (a default xarray still holds one element).
void release(Array& a) { a = Array::from_shape({0}); }

// The same shape once axes of length 1 are dropped ([3] and [1, 3], [] and [1, 1]).
template <class A, class B>
bool same_but_ones(const A& a, const B& b) {
    std::vector<std::size_t> x, y;
    for (auto d : a) if (d != 1) x.push_back(d);
    for (auto d : b) if (d != 1) y.push_back(d);
    return x == y;
}

// Whether numpy broadcasting takes shape `from` to shape `to`.
bool broadcasts_to(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const std::size_t lead = to.size() - from.size();
    for (std::size_t i = 0; i < from.size(); ++i)
        if (from[i] != 1 && from[i] != to[lead + i]) return false;
    return true;
}

// Adds a rule's gradient for `node` to what it has received so far, summed back
// over broadcast axes first (sum_to).
template <class S>
void accumulate_in_shape(Node& node, Array&& g, const S& shape, const char* op) {
    if (!std::equal(g.shape().begin(), g.shape().end(), shape.begin(), shape.end())) {
        const Shape want(shape.begin(), shape.end());
        if (same_but_ones(g.shape(), want))
            g.reshape(want);  // same elements, other rank (e.g. a 0-d scalar)
        else if (broadcasts_to(want, shape_of(g)))
            g = sum_to(g, want);
        else
            throw Error(std::string("internal error: the backward rule of '") + op + "' returned a gradient of shape " +
                        shape_str(g.shape()) + " for an input of shape " + shape_str(want));
    }
    if (!node.has_grad) {
        node.grad = std::move(g);
        node.has_grad = true;
    } else {
        xt::noalias(node.grad) += g;
    }
}
void accumulate(Node& node, Array&& g, const char* op) {
    if (node.value_freed)
        accumulate_in_shape(node, std::move(g), node.freed_shape, op);
    else
        accumulate_in_shape(node, std::move(g), node.value.shape(), op);
}

// Leaves first used by entry i have received their last contribution once the
// sweep is past i: call their grad_ready hooks (once per leaf).
void notify_complete_leaves(const Entry& e, std::int64_t i, std::uint64_t generation) {
    for (std::size_t j = 0; j < e.inputs.size(); ++j) {
        Node& in = *e.inputs[j];
        bool seen = false;  // the same leaf twice in one op (mul(a, a)): call once
        for (std::size_t k = 0; k < j; ++k) seen = seen || e.inputs[k].get() == &in;
        if (!seen && in.grad_ready && in.has_grad && in.entry < 0 && in.first_use == i && in.first_use_generation == generation)
            in.grad_ready();
    }
}

std::string describe_input(const Node& n, std::uint64_t generation) {
    std::string s;
    if (!n.name.empty())
        s = n.name;
    else if (n.entry >= 0 && n.generation == generation)
        s = "#" + std::to_string(n.entry);
    else
        s = n.requires_grad ? "leaf" : "const";
    return s + shape_str(n.shape());
}
}  // namespace

void Step::undeclared(const std::string& what) const {
    throw Error(std::string("the backward rule of '") + op_ + "' reads " + what +
                ", which its record() call does not declare in its Reads: either an input was switched to "
                "requires_grad after this op was recorded (switch it on before the forward pass), or the op's "
                "Reads are wrong");
}

// ---------------------------------------------------------------- Tensor's tape-aware members

Array& Tensor::mutable_value() {
    Node& n = checked();
    if (n.entry >= 0 && n.generation == Tape::current().generation())
        throw Error("mutable_value(): tensor " + (n.name.empty() ? std::string("(unnamed)") : n.name) +
                    " is the output of a recorded op whose value the backward pass may still "
                    "read; change leaves only, or detach() first");
    ++n.version;
    return n.value;
}

void Tensor::backward() const {
    const Array& v = value();
    if (v.size() != 1)
        throw Error("backward(): the tensor has shape " + shape_str(v.shape()) +
                    "; without a seed gradient backward() needs a single element (a loss). "
                    "Pass a seed of the same shape, or reduce with sum()/mean() first");
    Array seed = Array::from_shape(v.shape());
    seed.fill(1.0f);
    autograd::backward(*this, std::move(seed));
}

void Tensor::backward(const Array& seed) const { autograd::backward(*this, seed); }
void Tensor::backward(Array&& seed) const { autograd::backward(*this, std::move(seed)); }

// ---------------------------------------------------------------- the tape

Tape& Tape::current() {
    thread_local Tape tape;
    return tape;
}

void Tape::clear() {
    entries_.clear();
    warned_growth_ = false;
    ++generation_;
}

Tensor record(const char* op, Array value, std::span<const Tensor> inputs, Reads reads, BackwardRule rule) {
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined())
            throw Error(std::string(op) + ": input " + std::to_string(i) + " is an undefined Tensor");
        any = any || inputs[i].requires_grad();
    }
    auto out = std::make_shared<Node>();
    out->value = std::move(value);
    if (detect_anomaly && !finite(out->value)) {
        std::vector<std::shared_ptr<Node>> nodes;
        for (const Tensor& t : inputs) nodes.push_back(t.node());
        const Tape& tape = Tape::current();
        throw Error("anomaly: the value computed by " + where(tape.entries_, tape.entries_.size(), op, nodes) +
                    " has NaN or infinite elements");
    }
    if (!any || !grad_enabled) return Tensor(std::move(out));
    if (observer) observer->recorded(op);

    Tape& tape = Tape::current();
    Entry e;
    e.op = op;
    e.inputs.reserve(inputs.size());
    e.versions.reserve(inputs.size());
    for (const Tensor& t : inputs) {
        const Node& n = *t.node();
        if (n.entry >= 0 && n.generation != tape.generation_ && n.requires_grad)
            throw Error(std::string(op) + ": an input was computed on a graph that backward() "
                        "has already consumed (or that Tape::clear() dropped); recompute it in "
                        "this step, or detach() it to use it as a constant");
        e.inputs.push_back(t.node());
        e.versions.push_back(n.version);
    }
    if (reads.output) out->readers = 1;
    const auto index = static_cast<std::int64_t>(tape.entries_.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {  // after the checks above, so a refused op changes nothing
        Node& n = *inputs[i].node();
        if (reads.input(i) && n.entry >= 0) ++n.readers;  // values a rule reads stay (Tensor::let_go)
        if (n.entry < 0 && n.requires_grad && n.first_use_generation != tape.generation_) {
            n.first_use = index;
            n.first_use_generation = tape.generation_;
        }
    }
    out->requires_grad = true;
    out->entry = index;
    out->generation = tape.generation_;
    e.output = out;
    e.rule = std::move(rule);
    e.reads = reads;
    tape.entries_.push_back(std::move(e));
    if (!tape.warned_growth_ && tape.entries_.size() > std::max<std::size_t>(10000, 4 * tape.largest_swept_)) {
        tape.warned_growth_ = true;
        std::cerr << "tapegrad: warning: the tape holds " << tape.entries_.size()
                  << " entries that no backward() has consumed; if these forward passes are not to be "
                     "differentiated, run them under NoGradGuard (or drop the graph with a TapeScope)\n";
    }
    return Tensor(std::move(out));
}

void backward(const Tensor& root, Array seed) {
    if (!root.defined()) throw Error("backward(): undefined Tensor");
    Node& r = *root.node();
    if (seed.shape() != r.value.shape())
        throw Error("backward(): the seed gradient has shape " + shape_str(seed.shape()) +
                    " but the tensor has shape " + shape_str(r.value.shape()));
    if (!r.requires_grad)
        throw Error("backward(): this tensor does not require a gradient, so there is no graph "
                    "to differentiate (was it computed under NoGradGuard, or from tensors none "
                    "of which requires a gradient?)");
    Tape& tape = Tape::current();
    if (r.entry < 0) {  // a leaf: d(root)/d(root) is the seed itself
        accumulate(r, std::move(seed), "backward");
        tape.clear();  // as every backward(): the tape is consumed
        return;
    }
    if (r.generation != tape.generation_)
        throw Error("backward(): the graph of this tensor is gone: backward() already ran over "
                    "it (each backward() consumes the tape) or Tape::clear() dropped it. "
                    "Recompute the forward pass to differentiate again");

    // Whatever happens (an error in a rule included), the tape is consumed.
    struct ClearOnExit {
        Tape& tape;
        ~ClearOnExit() { tape.clear(); }
    } clear_on_exit{tape};

    r.grad = std::move(seed);
    r.has_grad = true;
    std::vector<Entry>& entries = tape.entries_;
    tape.largest_swept_ = std::max(tape.largest_swept_, static_cast<std::size_t>(r.entry) + 1);
    for (std::int64_t i = r.entry; i >= 0; --i) {
        Entry e = std::move(entries[static_cast<std::size_t>(i)]);  // freed at the end of the iteration
        Node& out = *e.output;
        if (!out.has_grad) {  // off the loss's path; leaves first used here are still complete now
            notify_complete_leaves(e, i, tape.generation_);
            continue;
        }
        for (std::size_t j = 0; j < e.inputs.size(); ++j)
            if (e.inputs[j]->version != e.versions[j])
                throw Error("backward(): input " + std::to_string(j) + " of " +
                            where(entries, static_cast<std::size_t>(i), e.op, e.inputs) +
                            " was changed in place (mutable_value()) after the op used it, so its gradient "
                            "would be wrong; change values only between backward() and the next forward pass, "
                            "or detach() a copy first");
        if (observer) observer->rule_started(e.op);
        Array kept;  // retain_grad(): copied before the rule, which may take_grad() it
        if (out.retains_grad) kept = out.grad;
        Step step(out.grad, out, e.inputs, e.reads, e.op);
        Grads grads = e.rule(step);
        if (grads.size() != e.inputs.size())
            throw Error(std::string("internal error: the backward rule of '") + e.op + "' returned " +
                        std::to_string(grads.size()) + " gradients for " +
                        std::to_string(e.inputs.size()) + " inputs");
        if (out.retains_grad) {
            out.grad = std::move(kept);
        } else {
            release(out.grad);
            out.has_grad = false;
        }
        for (std::size_t j = 0; j < e.inputs.size(); ++j) {
            Node& in = *e.inputs[j];
            if (!in.requires_grad || !grads[j]) continue;
            if (detect_anomaly && !finite(*grads[j]))
                throw Error("anomaly: the gradient that the rule of " +
                            where(entries, static_cast<std::size_t>(i), e.op, e.inputs) + " returned for input " +
                            std::to_string(j) + " has NaN or infinite elements");
            accumulate(in, std::move(*grads[j]), e.op);
        }
        notify_complete_leaves(e, i, tape.generation_);
        if (observer) observer->rule_finished(e.op);
    }
    if (observer) observer->sweep_finished();
}

bool is_grad_enabled() { return grad_enabled; }

void set_detect_anomaly(bool on) { detect_anomaly = on; }
bool is_anomaly_detection_enabled() { return detect_anomaly; }
DetectAnomalyGuard::DetectAnomalyGuard(bool on) : previous_(detect_anomaly) { detect_anomaly = on; }
DetectAnomalyGuard::~DetectAnomalyGuard() { detect_anomaly = previous_; }

namespace {
std::string where(const std::vector<Entry>& entries, std::size_t index, const char* op,
                  const std::vector<std::shared_ptr<Node>>& inputs) {
    std::string s = std::string(op) + "(";
    for (std::size_t j = 0; j < inputs.size(); ++j) {
        const Node& n = *inputs[j];
        s += (j ? ", " : "") + (n.name.empty() ? std::string() : n.name) + shape_str(n.shape());
    }
    s += ") at tape entry #" + std::to_string(index);
    const std::size_t from = index > 4 ? index - 4 : 0;
    std::string before;
    for (std::size_t k = from; k < index && k < entries.size(); ++k)
        if (entries[k].op) before += (before.empty() ? "" : ", ") + ("#" + std::to_string(k) + " ") + entries[k].op;
    if (!before.empty()) s += ", after " + before;
    return s;
}
}  // namespace

TapeObserver* set_tape_observer(TapeObserver* o) { return std::exchange(observer, o); }

NoGradGuard::NoGradGuard() : previous_(grad_enabled) { grad_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_enabled = previous_; }

void Tape::print(std::ostream& os) const {
    os << "tape: " << entries_.size() << (entries_.size() == 1 ? " entry\n" : " entries\n");
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const Entry& e = entries_[i];
        os << "  #" << i << "  " << e.op << '(';
        for (std::size_t j = 0; j < e.inputs.size(); ++j)
            os << (j ? ", " : "") << describe_input(*e.inputs[j], generation_);
        os << ") -> " << shape_str(e.output->shape()) << '\n';
    }
}

void Tape::write_dot(std::ostream& os) const {
    os << "digraph tape {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n";
    auto id = [](const Node* n) { return "n" + std::to_string(reinterpret_cast<std::uintptr_t>(n)); };
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const Entry& e = entries_[i];
        for (const auto& in : e.inputs) {
            const bool from_tape = in->entry >= 0 && in->generation == generation_;
            if (!from_tape) {  // leaves and constants get their own box
                os << "  " << id(in.get()) << " [shape=box, label=\""
                   << describe_input(*in, generation_) << "\"" << (in->requires_grad ? "" : ", style=dashed")
                   << "];\n";
            }
            os << "  " << (from_tape ? "e" + std::to_string(in->entry) : id(in.get())) << " -> e" << i
               << ";\n";
        }
        os << "  e" << i << " [shape=ellipse, label=\"#" << i << " " << e.op << "\\n"
           << shape_str(e.output->shape()) << "\"];\n";
    }
    os << "}\n";
}

Array sum_to(const Array& grad, const Shape& shape) {
    const std::size_t gd = grad.dimension(), sd = shape.size();
    auto fail = [&] {
        return Error("sum_to: a gradient of shape " + shape_str(grad.shape()) +
                     " cannot be reduced to shape " + shape_str(shape));
    };
    if (sd > gd) throw fail();
    const std::size_t lead = gd - sd;
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < lead; ++i) axes.push_back(i);
    for (std::size_t i = 0; i < sd; ++i) {
        const std::size_t g = grad.shape()[lead + i];
        if (shape[i] == g) continue;
        if (shape[i] != 1) throw fail();
        axes.push_back(lead + i);
    }
    Array out = sum_axes(grad, axes);
    out.reshape(shape);
    return out;
}

}  // namespace tapegrad::autograd
