// 01_autograd: the tape at work on one small function.
//   1. build a function of a few tensors, 2. print the tape it recorded,
//   3. run the reverse sweep, 4. compare every gradient with finite differences.
// Run: build/examples/01_autograd [--dot tape.dot] [--annotated-dot graph.dot] [--seed N]
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <vector>

#include "autograd/autograd.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;

// 1. The function: a one-layer network scored by a softmax cross-entropy and a
//    penalty,  L = cross_entropy(tanh(x W^T + b), y) + 0.1 * mean(W^2).
Tensor f(const Tensor& x, const Tensor& w, const Tensor& b, const Indices& y) {
    Tensor h = tanh(linear(x, w, b));           // [4, 3]
    Tensor data_term = cross_entropy(h, y);     // []
    Tensor penalty = 0.1f * mean(w * w);        // []
    return data_term + penalty;
}

// The graph after the sweep, in Graphviz DOT: every value with its gradient dL/d(value)
// (what docs/figures/tape.svg shows). `entries` are copies of the tape's entries taken
// before backward() consumed the tape; their outputs were marked retain_grad().
std::string matrix(const Array& a) {  // an HTML table, one row per row of a 2-D array
    const std::size_t cols = a.dimension() == 0 ? 1 : a.shape().back();
    std::string s = "<TABLE BORDER=\"0\" CELLSPACING=\"2\" CELLPADDING=\"1\">";
    for (std::size_t i = 0; i < a.size(); ++i) {
        char cell[32];
        std::snprintf(cell, sizeof cell, "%.3f", a.data()[i]);
        s += (i % cols == 0 ? "<TR>" : "") + std::string("<TD ALIGN=\"RIGHT\">") + cell + "</TD>";
        if (i % cols == cols - 1) s += "</TR>";
    }
    return s + "</TABLE>";
}

void write_annotated_dot(std::ostream& os, const std::vector<Entry>& entries) {
    os << "digraph tape {\n  rankdir=LR;\n  node [shape=plaintext, fontname=\"monospace\", fontsize=10];\n";
    std::map<const Node*, std::string> ids;  // leaves and constants by address, entries by index
    auto node = [&](const Node& n, const std::string& id, const std::string& title, const char* colour) {
        os << "  " << id << " [label=<<TABLE BORDER=\"1\" CELLBORDER=\"0\" BGCOLOR=\"" << colour << "\">"
           << "<TR><TD><B>" << title << "</B> " << shape_str(n.value.shape()) << "</TD></TR>"
           << "<TR><TD ALIGN=\"LEFT\">value</TD></TR><TR><TD>" << matrix(n.value) << "</TD></TR>";
        if (n.has_grad)
            os << "<TR><TD ALIGN=\"LEFT\"><FONT COLOR=\"#c0392b\">grad dL/d(value)</FONT></TD></TR><TR><TD>"
               << "<FONT COLOR=\"#c0392b\">" << matrix(n.grad) << "</FONT></TD></TR>";
        os << "</TABLE>>];\n";
    };
    for (std::size_t i = 0; i < entries.size(); ++i) ids[entries[i].output.get()] = "e" + std::to_string(i);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        for (const auto& in : e.inputs) {
            if (!ids.count(in.get())) {  // a leaf (W, b) or a constant (x, 0.1): drawn once
                ids[in.get()] = "n" + std::to_string(ids.size());
                node(*in, ids[in.get()], in->name.empty() ? (in->requires_grad ? "leaf" : "const") : in->name,
                     in->requires_grad ? "#eaf2f8" : "#f4f4f4");
            }
            os << "  " << ids[in.get()] << " -> e" << i << ";\n";
        }
        node(*e.output, "e" + std::to_string(i), "#" + std::to_string(i) + " " + e.op, "#fef9e7");
    }
    os << "}\n";
}

int main(int argc, char** argv) {
    CLI::App app{"tapegrad example 01: a function, its tape, its gradients checked by finite differences"};
    std::string dot_path;
    std::uint64_t seed = 1;
    app.add_option("--dot", dot_path, "also write the tape as Graphviz DOT to this file");
    std::string annotated_path;
    app.add_option("--annotated-dot", annotated_path,
                   "after backward(), write the graph with every value and gradient as Graphviz DOT to this file");
    app.add_option("--seed", seed, "seed of the random inputs");
    CLI11_PARSE(app, argc, argv);

    // Inputs: a batch of 4 examples with 5 features, 3 classes.
    manual_seed(seed);
    Tensor x(randn({4, 5}));
    Tensor w(randn({3, 5}) * 0.5f, true);
    Tensor b(zeros({3}), true);
    w.set_name("W");
    b.set_name("b");
    x.set_name("x");
    const Indices y = {0, 2, 1, 2};

    // 2. Run the function: every op appends one entry to the tape.
    Tensor loss = f(x, w, b, y);
    std::cout << "L = " << loss.item() << "\n\n";
    Tape::current().print(std::cout);
    if (!dot_path.empty()) {
        std::ofstream dot(dot_path);
        Tape::current().write_dot(dot);
        std::cout << "(tape written to " << dot_path << "; render it with: dot -Tpng " << dot_path << " -o tape.png)\n";
    }

    // For the annotated graph: keep the entries (the sweep consumes the tape) and ask
    // every op's output to keep its gradient, which the sweep would otherwise free.
    std::vector<Entry> entries;
    if (!annotated_path.empty())
        for (std::size_t i = 0; i < Tape::current().size(); ++i) {
            entries.push_back(Tape::current()[i]);
            Tensor(entries.back().output).retain_grad();
        }

    // 3. One reverse sweep fills W.grad() and b.grad() (and empties the tape).
    loss.backward();
    if (!annotated_path.empty()) {
        std::ofstream dot(annotated_path);
        write_annotated_dot(dot, entries);
        std::cout << "(graph with values and gradients written to " << annotated_path << ")\n";
    }

    // 4. Finite differences: nudge each parameter element by +-h and watch L.
    const float h = 1e-2f;
    double worst = 0.0;
    for (Tensor* p : {&w, &b}) {
        std::cout << "\ndL/d" << p->name() << "  (tape  vs  finite difference)\n";
        for (std::size_t i = 0; i < p->size(); ++i) {
            NoGradGuard no_grad;
            const float keep = p->value().data()[i];
            p->mutable_value().data()[i] = keep + h;
            const double up = f(x, w, b, y).item();
            p->mutable_value().data()[i] = keep - h;
            const double down = f(x, w, b, y).item();
            p->mutable_value().data()[i] = keep;
            const double numeric = (up - down) / (2 * h);
            const double tape = p->grad().data()[i];
            worst = std::max(worst, std::abs(tape - numeric));
            std::cout << std::fixed << std::setprecision(6) << "  [" << i << "] " << std::setw(10) << tape << "  "
                      << std::setw(10) << numeric << '\n';
        }
    }
    std::cout << "\nlargest difference: " << std::scientific << worst << (worst < 1e-3 ? "  (agree)\n" : "  (DISAGREE)\n");
    return worst < 1e-3 ? 0 : 1;
}
