// The tape itself: order of entries, the reverse sweep, accumulation, errors.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;

TEST_CASE("tape: ops are recorded in execution order and printed with their shapes") {
    Tape::current().clear();
    Tensor w(array({1, 2, 3, 4, 5, 6}, {2, 3}), true);
    w.set_name("w");
    Tensor x(array({1, 1, 1}, {1, 3}));
    Tensor y = sum(tanh(x * w));
    REQUIRE(Tape::current().size() == 3);
    CHECK(std::string(Tape::current()[0].op) == "mul");
    CHECK(std::string(Tape::current()[1].op) == "tanh");
    CHECK(std::string(Tape::current()[2].op) == "sum");
    std::ostringstream os;
    Tape::current().print(os);
    CHECK(os.str() == "tape: 3 entries\n"
                      "  #0  mul(const[1, 3], w[2, 3]) -> [2, 3]\n"
                      "  #1  tanh(#0[2, 3]) -> [2, 3]\n"
                      "  #2  sum(#1[2, 3]) -> []\n");
    std::ostringstream dot;
    Tape::current().write_dot(dot);
    CHECK(dot.str().find("e0 -> e1") != std::string::npos);
    CHECK(dot.str().find("e1 -> e2") != std::string::npos);
    y.backward();
    CHECK(Tape::current().size() == 0);
}

TEST_CASE("tape: backward of a constant expression is a clear error") {
    Tensor a(array({1, 2}));
    Tensor y = sum(a * a);
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("does not require a gradient"), Error);
}

TEST_CASE("tape: backward twice over the same graph is a clear error") {
    Tensor a(array({1, 2}), true);
    Tensor y = sum(a * a);
    y.backward();
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("already ran"), Error);
}

TEST_CASE("tape: backward of a non-scalar needs a seed of the same shape") {
    Tensor a(array({1, 2, 3}), true);
    Tensor y = a * 2.0f;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("[3]"), Error);
    Tape::current().clear();
    Tensor y2 = a * 2.0f;
    CHECK_THROWS_WITH_AS(y2.backward(array({1, 1})), doctest::Contains("seed gradient has shape [2]"), Error);
    Tape::current().clear();
    Tensor y3 = a * 2.0f;
    y3.backward(array({1, 10, 100}));
    CHECK_ARRAY_EQ(a.grad(), array({2, 20, 200}));
}

TEST_CASE("tape: gradients accumulate into leaves until zero_grad") {
    Tensor a(array({1, 2}), true);
    sum(a * a).backward();
    sum(a * a).backward();
    CHECK_ARRAY_EQ(a.grad(), array({4, 8}));  // 2 * (2a)
    a.zero_grad();
    CHECK_FALSE(a.has_grad());
    CHECK_THROWS_WITH_AS(a.grad(), doctest::Contains("no gradient yet"), Error);
    sum(a * 3.0f).backward();
    CHECK_ARRAY_EQ(a.grad(), array({3, 3}));
}

TEST_CASE("tape: a value used twice receives the sum of both gradients") {
    Tensor a(array({3}), true);
    Tensor b = a * a;          // db/da = 2a
    Tensor y = sum(b + a * b);  // y = a^2 + a^3, dy/da = 2a + 3a^2
    y.backward();
    CHECK_ARRAY_EQ(a.grad(), array({6 + 27}));
}

TEST_CASE("tape: intermediate gradients are freed during the sweep") {
    Tensor a(array({1, 2}), true);
    Tensor b = a * 2.0f;
    sum(b).backward();
    CHECK_THROWS_WITH_AS(b.grad(), doctest::Contains("not a leaf"), Error);
    CHECK(a.has_grad());
}

TEST_CASE("tape: retain_grad keeps an intermediate's gradient, even one a rule takes by move") {
    Tensor a(array({1, 2}), true), b(array({3, -1}), true);
    Tensor c = a + b;  // add's rule hands its adjoint on with take_grad()
    Tensor t = tanh(c * 0.5f);
    c.retain_grad();
    t.retain_grad();
    sum(t * t).backward();
    const Array tv = t.value();
    CHECK_CLOSE(t.grad(), 2.0f * tv, 1e-6, 1e-6);                            // d(sum t^2)/dt = 2t
    CHECK_CLOSE(c.grad(), 2.0f * tv * (1.0f - tv * tv) * 0.5f, 1e-6, 1e-6);  // chained through tanh(c/2)
    CHECK_CLOSE(a.grad(), c.grad(), 0.0, 0.0);                               // and the leaves got the same
    CHECK_CLOSE(b.grad(), c.grad(), 0.0, 0.0);
}

TEST_CASE("tape: NoGradGuard records nothing and yields constants") {
    Tape::current().clear();
    Tensor a(array({1, 2}), true);
    {
        NoGradGuard guard;
        Tensor b = exp(a) * a;
        CHECK_FALSE(b.requires_grad());
        CHECK(Tape::current().size() == 0);
    }
    Tensor c = a * a;
    CHECK(c.requires_grad());
    CHECK(Tape::current().size() == 1);
    Tape::current().clear();
}

TEST_CASE("tape: detach cuts the graph") {
    Tensor a(array({2}), true);
    Tensor b = (a * a).detach();  // a constant 4
    Tensor y = sum(b * a);        // dy/da = b = 4 (not 3a^2 = 12)
    y.backward();
    CHECK_ARRAY_EQ(a.grad(), array({4}));
}

TEST_CASE("tape: a tensor from a consumed graph cannot be differentiated again") {
    Tensor a(array({2}), true);
    Tensor h = a * a;
    sum(h).backward();
    CHECK_THROWS_WITH_AS(h * 2.0f, doctest::Contains("already consumed"), Error);
    Tensor ok = h.detach() * a;  // detaching makes it usable as a constant
    CHECK(ok.requires_grad());
    Tape::current().clear();
}

TEST_CASE("tape: values on the tape cannot be modified in place") {
    Tensor a(array({2}), true);
    Tensor b = a * a;
    CHECK_THROWS_WITH_AS(b.mutable_value(), doctest::Contains("backward pass may still read"), Error);
    a.mutable_value()(0) = 5.0f;  // leaves can change (optimisers do)
    Tape::current().clear();
}

TEST_CASE("tape: a long chain of thousands of entries is swept iteratively") {
    // The shape of an unrolled RNN: 5000 dependent steps; a recursive sweep would
    // exhaust the stack long before.
    Tensor w(array({0.999f}), true);
    Tensor h(array({1.0f}));
    for (int t = 0; t < 5000; ++t) h = h * w + 0.001f;
    CHECK(Tape::current().size() == 10000);
    sum(h).backward();
    // h_T = w^T + 0.001 * sum_{k<T} w^k; check against the same sum in double.
    double g = 0.0, wk = 1.0, w0 = 0.999f;
    for (int k = 0; k < 5000; ++k) {  // d/dw of w^5000 + 0.001 sum_{k<5000} w^k
        g += 0.001 * k * (k ? wk / w0 : 0.0);
        wk *= w0;
    }
    g += 5000 * wk / w0;
    CHECK(w.grad()(0) == doctest::Approx(g).epsilon(1e-3));
}

TEST_CASE("tape: a leaf as the root of backward receives the seed") {
    Tensor a(array({1, 2}), true);
    a.backward(array({3, 4}));
    CHECK_ARRAY_EQ(a.grad(), array({3, 4}));
}

TEST_CASE("sum_to: broadcast axes are summed back to the input's shape") {
    Array g = array({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK_ARRAY_EQ(sum_to(g, {3}), array({5, 7, 9}));
    CHECK_ARRAY_EQ(sum_to(g, {2, 1}), array({6, 15}, {2, 1}));
    CHECK_ARRAY_EQ(sum_to(g, {1, 1}), array({21}, {1, 1}));
    CHECK_ARRAY_EQ(sum_to(g, {}), Array(21.0f));
    CHECK_THROWS_WITH_AS(sum_to(g, {2}), doctest::Contains("cannot be reduced to shape [2]"), Error);
}

TEST_CASE("tensor: accessors give clear errors") {
    Tensor undefined;
    CHECK_THROWS_WITH_AS(undefined.value(), doctest::Contains("undefined Tensor"), Error);
    Tensor a(array({1, 2}));
    CHECK_THROWS_WITH_AS(a.item(), doctest::Contains("2 elements"), Error);
    CHECK_THROWS_WITH_AS(a.grad(), doctest::Contains("does not require a gradient"), Error);
    CHECK_THROWS_WITH_AS(a.dim(2), doctest::Contains("out of range"), Error);
    CHECK(Tensor(Array(3.5f)).item() == 3.5f);
}

TEST_CASE("random: manual_seed makes draws reproducible and the state can be restored") {
    manual_seed(7);
    Array a = randn({5});
    manual_seed(7);
    Array b = randn({5});
    CHECK_ARRAY_EQ(a, b);
    const std::string state = generator().state();
    Array c = rand({4});
    generator().set_state(state);
    CHECK_ARRAY_EQ(rand({4}), c);
    // Box-Muller draws look standard normal.
    manual_seed(1);
    Array n = randn({20000});
    CHECK(std::abs(xt::mean(n)()) < 0.03);
    CHECK(std::abs(xt::stddev(n)() - 1.0) < 0.03);
    auto p = randperm(10);
    std::sort(p.begin(), p.end());
    for (std::size_t i = 0; i < 10; ++i) CHECK(p[i] == i);
}

TEST_CASE("random: a block of normals is the stream of one-at-a-time draws") {
    // Odd and even lengths, a block boundary, and a spare carried between calls.
    for (const std::size_t n : {1, 2, 7, 64, 129, 1000}) {
        Generator one(11), block(11);
        std::vector<float> want(n + 3), got(n + 3);
        for (float& v : want) v = one.normal();
        block.normal(got.data(), n);
        block.normal(got.data() + n, 3);  // continues from the spare, if n was odd
        for (std::size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
        for (int k = 0; k < 3; ++k) CHECK(block.normal() == one.normal());  // the engines agree after it
        CHECK(block.next_u64() == one.next_u64());
    }
}

TEST_CASE("random: SeedScope runs from its own seed and restores the stream") {
    manual_seed(9);
    Array a = rand({3});
    Array b = rand({3});
    manual_seed(9);
    Array a2 = rand({3});
    Array inside;
    {
        SeedScope scope(123);
        inside = rand({3});
    }
    CHECK_ARRAY_EQ(a2, a);
    CHECK_ARRAY_EQ(rand({3}), b);  // as if the scope never drew anything
    SeedScope again(123);
    CHECK_ARRAY_EQ(rand({3}), inside);
}

TEST_CASE("profiler: a leaf's hook gets its own row and is not charged to the op that triggered it") {
    Tape::current().clear();
    Profiler::reset();
    Profiler::enable();
    Tensor w(array({1, 2, 3}, {3}), true);
    w.on_grad_ready([] {  // stands for a fused optimiser update that takes 30 ms
        const auto t = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - t < std::chrono::milliseconds(30)) {
        }
        Profiler::add("(hook)", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
    });
    sum(w * 2.0f).backward();
    Profiler::enable(false);
    double op_ms = -1, hook_ms = -1;
    for (const OpTime& t : Profiler::report()) {
        if (t.op == "mul") op_ms = t.backward_ms;
        if (t.op == "(hook)") hook_ms = t.backward_ms;
    }
    w.on_grad_ready({});
    CHECK(hook_ms >= 30.0);
    CHECK(op_ms >= 0.0);
    CHECK(op_ms < 15.0);  // a 3-element product: microseconds, unless the hook were counted in it
}

TEST_CASE("anomaly detection: the first op whose value or gradient is not finite is named, with what came before") {
    Tensor x(array({1.0f, -1.0f, 4.0f}), true);
    x.set_name("x");
    {
        DetectAnomalyGuard anomaly;
        Tensor y = tanh(x) * 2.0f;
        CHECK_THROWS_WITH_AS(log(y - 2.0f), doctest::Contains("anomaly: the value computed by log([3]) at tape entry #3, after #0 tanh, #1 mul, #2 sub"), Error);
        Tape::current().clear();
        // A finite value whose gradient is not: sqrt at 0.
        Tensor z(array({0.0f, 1.0f}), true);
        Tensor s = sum(sqrt(z));
        CHECK_THROWS_WITH_AS(s.backward(), doctest::Contains("anomaly: the gradient that the rule of sqrt([2]) at tape entry #0 returned for input 0"), Error);
    }
    CHECK_FALSE(is_anomaly_detection_enabled());
    Tensor quiet = log(x - 2.0f);  // without the guard a NaN passes silently, as in PyTorch
    CHECK(std::isnan(quiet.value()(0)));
    Tape::current().clear();
}

TEST_CASE("backward: a leaf changed in place after an op used it is refused, naming the op") {
    Tensor w(array({1.0f, 2.0f}), true);
    w.set_name("w");
    Tensor y = sum(w * w);
    w.mutable_value()(0) = 5.0f;  // the rule of mul would read the new value
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("input 0 of mul(w[2], w[2]) at tape entry #0 was changed in place"), Error);
    // Changing it between steps is fine.
    Tensor y2 = sum(w * w);
    y2.backward();
    CHECK(w.grad()(0) == 10.0f);
}

TEST_CASE("tape: forward passes never differentiated make the tape grow; a warning names NoGradGuard once") {
    Tape::current().clear();
    std::ostringstream err;
    auto* old = std::cerr.rdbuf(err.rdbuf());
    Tensor w(array({1.0f}), true);
    // (The threshold is 10000 entries, or four times the largest graph this thread
    // has differentiated, which earlier tests may have raised.)
    for (int i = 0; i < 60000; ++i) Tensor y = w * 2.0f;
    std::cerr.rdbuf(old);
    const std::string said = err.str();
    CHECK(said.find("entries that no backward() has consumed") != std::string::npos);
    CHECK(said.find("NoGradGuard") != std::string::npos);
    CHECK(std::count(said.begin(), said.end(), '\n') == 1);  // once
    Tape::current().clear();
}

TEST_CASE("tape: an op output that no rule reads is freed when its last handle goes; one a rule reads stays") {
    Tape::current().clear();
    Tensor x(testing::random_array({4, 3}, 91), true);
    Tensor loss;
    {
        Tensor scaled = x * 2.0f;       // #0 mul: its rule reads the constant only
        Tensor t = tanh(scaled + 1.0f); // #1 add reads nothing; #2 tanh reads its output
        Tensor kept = reshape(t, {12}); // #3 reshape reads nothing, but this handle outlives... nothing
        loss = sum(kept * kept);        // #4 mul reads both operands: kept stays
    }
    const Tape& tape = Tape::current();
    REQUIRE(tape.size() == 6);
    CHECK(tape[0].output->value_freed);   // x * 2: read by add's rule? no: freed
    CHECK(tape[1].output->value_freed);   // scaled + 1: tanh reads its output, not its input
    CHECK(!tape[2].output->value_freed);  // tanh's output: its own rule reads it
    CHECK(!tape[3].output->value_freed);  // reshape's output: the product reads it
    CHECK(tape[1].output->shape() == Shape{4, 3});  // the shape stays, for the sweep
    std::ostringstream os;
    tape.print(os);  // printing a tape with freed values still shows their shapes
    CHECK(os.str().find("add(#0[4, 3], const[]) -> [4, 3]") != std::string::npos);
    loss.backward();
    // d/dx sum(tanh(2x + 1)^2) = 2 tanh(u) (1 - tanh(u)^2) 2
    const Array u = xt::tanh(2.0f * x.value() + 1.0f);
    CHECK_CLOSE(x.grad(), Array(4.0f * u * (1.0f - u * u)), 1e-5, 1e-6);
}

TEST_CASE("tape: a value a handle still holds is never freed, and a freed value cannot be read") {
    Tape::current().clear();
    Tensor x(testing::random_array({2, 2}, 92), true);
    Tensor y = x + 1.0f;  // no rule reads it, but this handle does
    Tensor z = y + 1.0f;
    CHECK(!y.node()->value_freed);
    CHECK_ARRAY_EQ(y.value(), Array(x.value() + 1.0f));
    std::shared_ptr<Node> node = y.node();
    y = Tensor();  // the last handle goes: freed, though the node lives on
    CHECK(node->value_freed);
    CHECK_THROWS_WITH_AS(Tensor(node).value(), doctest::Contains("value was freed"), Error);
    Tape::current().clear();
}

TEST_CASE("tape: a rule that reads a value its Reads leaves out is an error naming the op") {
    Tape::current().clear();
    Tensor x(array({1, 2, 3}), true);
    Tensor y = record("sloppy_square", x.value() * x.value(), {x}, reads_nothing,
                      [](Step& s) -> Grads { return {2.0f * s.grad * s.input(0)}; });
    CHECK_THROWS_WITH_AS(sum(y).backward(), doctest::Contains("'sloppy_square' reads input 0, which its record() call does not declare"), Error);
    Tensor w = record("sloppy_exp", xt::exp(x.value()), {x}, reads_inputs,
                      [](Step& s) -> Grads { return {s.grad * s.output()}; });
    CHECK_THROWS_WITH_AS(sum(w).backward(), doctest::Contains("'sloppy_exp' reads its output"), Error);
}
