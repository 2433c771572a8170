// tutorial_check: says whether an op of examples/tutorial/my_ops.cpp is right
// (docs/tutorial.md). For the op named on the command line it
//   1. prints the tape of one call (an op is one entry),
//   2. compares the value with the library's own op,
//   3. compares the gradient of every input, for L = sum(y * c) with fixed weights
//      c, with a central finite difference and with the library's op's gradient,
// and ends with RIGHT or WRONG, naming the worst element of a wrong gradient.
// Run: build/examples/tutorial_check cube|logsumexp|layer_norm|all|broken-layer-norm|overflow
//      (--expect wrong: exit 0 when the verdict is WRONG, for the deliberately broken ops)
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "examples/tutorial/my_ops.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;

namespace {

using Op = std::function<Tensor(const std::vector<Tensor>&)>;

struct Exercise {
    std::string yours_name, library_name;
    Op yours, library;
    std::vector<std::string> input_names;
    std::vector<Array> inputs;
};

// Uniform values in [lo, hi), from a generator of their own: the same inputs on every run.
Array fixed_array(const Shape& shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937_64 g(seed);
    Array a = Array::from_shape(shape);
    for (float& v : a) v = lo + (hi - lo) * static_cast<float>(static_cast<double>(g() >> 11) * 0x1.0p-53);
    return a;
}

// "[2, 3]": the multi-index of flat element i of an array of shape `shape`.
std::string index_of(std::size_t i, const Shape& shape) {
    std::vector<std::size_t> idx(shape.size());
    for (std::size_t k = shape.size(); k-- > 0;) {
        idx[k] = i % shape[k];
        i /= shape[k];
    }
    return shape_str(idx);
}

double weighted_sum(const Array& y, const Array& c) {
    double s = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y.data()[i]) * c.data()[i];
    return s;
}

// The tape's gradients of L = sum(op(inputs) * c) with respect to every input.
std::vector<Array> tape_gradients(const Op& op, const std::vector<Array>& inputs, const Array& c, bool print_tape,
                                  const std::vector<std::string>& names) {
    std::vector<Tensor> xs;
    for (std::size_t k = 0; k < inputs.size(); ++k) xs.emplace_back(inputs[k], true).set_name(names[k]);
    Tensor y = op(xs);
    if (print_tape) Tape::current().print(std::cout);
    y.backward(c);  // the gradient of sum(y * c): a vector-Jacobian product
    std::vector<Array> grads;
    for (const Tensor& x : xs) grads.push_back(x.has_grad() ? x.grad() : zeros(x.shape()));
    return grads;
}

// Central differences (L(x + h) - L(x - h)) / (step actually taken), L in double.
Array finite_difference(const Op& op, const std::vector<Array>& inputs, std::size_t k, const Array& c) {
    const double h = 1e-2;
    NoGradGuard no_grad;
    Array numeric = Array::from_shape(shape_of(inputs[k]));
    for (std::size_t i = 0; i < inputs[k].size(); ++i) {
        auto loss_at = [&](float v) {
            std::vector<Tensor> xs;
            for (const Array& a : inputs) xs.emplace_back(a);
            Array moved = inputs[k];
            moved.data()[i] = v;
            xs[k] = Tensor(moved);
            return weighted_sum(op(xs).value(), c);
        };
        const float x = inputs[k].data()[i];
        const float up = static_cast<float>(x + h), down = static_cast<float>(x - h);
        numeric.data()[i] = static_cast<float>((loss_at(up) - loss_at(down)) / (double(up) - double(down)));
    }
    return numeric;
}

// How far outside |a - e| <= atol + rtol |e| the worst element is, and where.
struct Worst {
    double excess = -INFINITY;
    std::size_t at = 0;
    std::size_t outside = 0;  // how many elements are outside the tolerance
};
Worst worst_element(const Array& a, const Array& e, double rtol, double atol) {
    Worst w;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = std::abs(double(a.data()[i]) - e.data()[i]) - rtol * std::abs(double(e.data()[i])) - atol;
        if (!(x <= 0)) ++w.outside;
        if (!(x <= w.excess)) w = {x, i, w.outside};  // NaN counts as worst
    }
    return w;
}

std::string num(double v) {
    char s[32];
    std::snprintf(s, sizeof s, "%9.4f", v);
    return s;
}

// Checks one op; true when everything agrees.
bool check(const Exercise& ex) {
    std::cout << "== " << ex.yours_name << " against the library's " << ex.library_name << "\n";
    const Array y_yours = [&] {
        NoGradGuard no_grad;
        std::vector<Tensor> xs(ex.inputs.begin(), ex.inputs.end());
        return ex.yours(xs).value();
    }();
    const Array y_library = [&] {
        NoGradGuard no_grad;
        std::vector<Tensor> xs(ex.inputs.begin(), ex.inputs.end());
        return ex.library(xs).value();
    }();
    bool right = true;
    if (shape_of(y_yours) != shape_of(y_library)) {
        std::cout << "value: shape " << shape_str(y_yours.shape()) << ", the library's is " << shape_str(y_library.shape())
                  << "\nWRONG: the value has the wrong shape\n";
        return false;
    }
    const Worst vw = worst_element(y_yours, y_library, 1e-4, 1e-5);
    const bool value_ok = vw.excess <= 0;
    std::cout << "value " << shape_str(y_yours.shape()) << ": " << (value_ok ? "agrees" : "DIFFERS")
              << " with the library's";
    if (!value_ok)
        std::cout << " (worst element " << index_of(vw.at, shape_of(y_yours)) << ": yours " << num(y_yours.data()[vw.at])
                  << ", library " << num(y_library.data()[vw.at]) << ")";
    std::cout << "\n";
    right = right && value_ok;

    const Array c = fixed_array(shape_of(y_yours), 12345, 0.5f, 1.5f);
    std::cout << "the tape of one call:\n";
    const std::vector<Array> yours = tape_gradients(ex.yours, ex.inputs, c, true, ex.input_names);
    const std::vector<Array> library = tape_gradients(ex.library, ex.inputs, c, false, ex.input_names);
    std::cout << "gradients of L = sum(y * c), c fixed in [0.5, 1.5); each input's worst element:\n";
    char header[160];
    std::snprintf(header, sizeof header, "  %-6s %-10s %9s %19s %9s\n", "input", "element", "yours", "finite difference",
                  "library");
    std::cout << header;
    std::string first_wrong;
    for (std::size_t k = 0; k < ex.inputs.size(); ++k) {
        const Array numeric = finite_difference(ex.yours, ex.inputs, k, c);
        // Right means: within the tests' tolerance of the finite difference, and
        // within float rounding of the library's rule.
        const Worst fd = worst_element(yours[k], numeric, 1e-2, 2e-3);
        const Worst lib = worst_element(yours[k], library[k], 1e-3, 1e-4);
        const bool ok = fd.excess <= 0 && lib.excess <= 0;
        const std::size_t at = fd.excess > 0 ? fd.at : lib.excess > 0 ? lib.at : fd.at;
        const std::size_t outside = std::max(fd.outside, lib.outside);
        char line[200];
        std::snprintf(line, sizeof line, "  %-6s %-10s %s %19s %9s   %s", ex.input_names[k].c_str(),
                      index_of(at, shape_of(ex.inputs[k])).c_str(), num(yours[k].data()[at]).c_str(),
                      num(numeric.data()[at]).c_str(), num(library[k].data()[at]).c_str(), ok ? "right" : "WRONG");
        std::cout << line;
        if (!ok) std::cout << " (" << outside << " of " << ex.inputs[k].size() << " elements)";
        std::cout << "\n";
        if (!ok && first_wrong.empty()) first_wrong = ex.input_names[k] + " " + index_of(at, shape_of(ex.inputs[k]));
        right = right && ok;
    }
    if (right)
        std::cout << "RIGHT: " << ex.yours_name << "'s value and every gradient agree\n\n";
    else if (!first_wrong.empty())
        std::cout << "WRONG: the gradient of " << first_wrong << " and perhaps more; see docs/tutorial.md, \"Reading a wrong gradient\"\n\n";
    else
        std::cout << "WRONG: the value differs from the library's\n\n";
    return right;
}

Exercise cube() {
    return {"my_cube", "pow(a, 3)",
            [](const std::vector<Tensor>& x) { return tutorial::my_cube(x[0]); },
            [](const std::vector<Tensor>& x) { return pow(x[0], 3.0f); },
            {"a"}, {fixed_array({3, 4}, 1)}};
}

Exercise logsumexp_exercise() {
    return {"my_logsumexp", "logsumexp(a, -1)",
            [](const std::vector<Tensor>& x) { return tutorial::my_logsumexp(x[0]); },
            [](const std::vector<Tensor>& x) { return logsumexp(x[0], -1); },
            {"a"}, {fixed_array({3, 5}, 2, -3.0f, 3.0f)}};
}

Exercise layer_norm_exercise(bool broken) {
    return {broken ? "broken_layer_norm" : "my_layer_norm", "layer_norm",
            [broken](const std::vector<Tensor>& x) {
                return broken ? tutorial::broken_layer_norm(x[0], x[1], x[2]) : tutorial::my_layer_norm(x[0], x[1], x[2]);
            },
            [](const std::vector<Tensor>& x) { return layer_norm(x[0], x[1], x[2]); },
            {"x", "w", "b"},
            {fixed_array({4, 5}, 3, -2.0f, 2.0f), fixed_array({5}, 4, 0.5f, 1.5f), fixed_array({5}, 5)}};
}

// An op whose value overflows: anomaly mode names it at once.
bool overflow() {
    std::cout << "== naive_logsumexp on logits near 100, with anomaly detection on\n";
    Tensor a(fixed_array({2, 3}, 6, 95.0f, 105.0f), true);
    a.set_name("a");
    try {
        DetectAnomalyGuard anomaly;
        Tensor y = tutorial::naive_logsumexp(a);
        y.backward(ones(y.shape()));
        std::cout << "no anomaly\n";
    } catch (const Error& e) {
        std::cout << "error: " << e.what() << "\n";
        std::cout << "WRONG: naive_logsumexp overflows; my_logsumexp on the same input gives";
        NoGradGuard no_grad;
        const Array y = tutorial::my_logsumexp(a).value();
        for (float v : y) std::cout << num(v);
        std::cout << "\n\n";
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tapegrad tutorial: checks the ops of examples/tutorial/my_ops.cpp (docs/tutorial.md)"};
    std::string which, expect = "right";
    app.add_option("op", which, "cube, logsumexp, layer_norm, all, broken-layer-norm or overflow")
        ->required()
        ->check(CLI::IsMember({"cube", "logsumexp", "layer_norm", "all", "broken-layer-norm", "overflow"}));
    app.add_option("--expect", expect, "the verdict that makes the exit status 0")
        ->check(CLI::IsMember({"right", "wrong"}))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    bool right = true;
    try {
        if (which == "cube" || which == "all") right = check(cube()) && right;
        if (which == "logsumexp" || which == "all") right = check(logsumexp_exercise()) && right;
        if (which == "layer_norm" || which == "all") right = check(layer_norm_exercise(false)) && right;
        if (which == "broken-layer-norm") right = check(layer_norm_exercise(true));
        if (which == "overflow") right = overflow();
    } catch (const Error& e) {
        std::cout << "error: " << e.what() << "\nWRONG: the op threw\n";
        right = false;
    }
    return right == (expect == "right") ? 0 : 1;
}
