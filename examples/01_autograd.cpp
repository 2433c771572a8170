// 01_autograd: the tape at work on one small function.
//   1. build a function of a few tensors, 2. print the tape it recorded,
//   3. run the reverse sweep, 4. compare every gradient with finite differences.
// Run: build/examples/01_autograd [--dot tape.dot] [--seed N]
#include <CLI/CLI.hpp>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>

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

int main(int argc, char** argv) {
    CLI::App app{"tapegrad example 01: a function, its tape, its gradients checked by finite differences"};
    std::string dot_path;
    std::uint64_t seed = 1;
    app.add_option("--dot", dot_path, "also write the tape as Graphviz DOT to this file");
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

    // 3. One reverse sweep fills W.grad() and b.grad() (and empties the tape).
    loss.backward();

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
