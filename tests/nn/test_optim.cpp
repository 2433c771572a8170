// Optimisers, clipping and schedules against PyTorch step by step.
#include "nn/nn.hpp"
#include "tests/support/check.hpp"
#include "tests/support/fixtures.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using tapegrad::testing::fixture;

namespace {
// Runs 5 steps from p0 with the fixture gradients and checks each parameter value.
template <class MakeOpt>
void against_torch(const std::string& config, MakeOpt make) {
    Tensor p(fixture("optim", "p0"), true);
    p.set_name("p");
    auto opt = make(std::vector<Tensor>{p});
    const Array grads = fixture("optim", "grads"), expected = fixture("optim", config);
    for (std::size_t t = 0; t < 5; ++t) {
        p.set_grad(xt::view(grads, t, xt::all(), xt::all()));
        opt.step();
        INFO(config << " after step " << t + 1);
        CHECK_TORCH(p.value(), Array(xt::view(expected, t, xt::all(), xt::all())));
    }
}
}  // namespace

TEST_CASE("SGD: plain, with momentum and weight decay, and Nesterov match PyTorch") {
    against_torch("sgd", [](auto ps) { return SGD(ps, {.lr = 0.1f}); });
    against_torch("sgd_momentum", [](auto ps) { return SGD(ps, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f}); });
    against_torch("sgd_nesterov", [](auto ps) { return SGD(ps, {.lr = 0.1f, .momentum = 0.9f, .nesterov = true}); });
}

TEST_CASE("Adam and AdamW: match PyTorch, with L2 and decoupled weight decay") {
    against_torch("adam", [](auto ps) { return Adam(ps, {.lr = 0.01f}); });
    against_torch("adam_wd", [](auto ps) { return Adam(ps, {.lr = 0.01f, .weight_decay = 0.1f}); });
    against_torch("adamw", [](auto ps) { return AdamW(ps, {.lr = 0.01f, .weight_decay = 0.1f}); });
    against_torch("adam_betas", [](auto ps) { return Adam(ps, {.lr = 0.01f, .beta1 = 0.5f, .beta2 = 0.9f, .eps = 1e-6f}); });
}

TEST_CASE("clip_grad_norm: global norm and scaled gradients match PyTorch") {
    Tensor a(zeros({3, 4}), true), b(zeros({5}), true);
    a.set_grad(fixture("optim", "clip_g1"));
    b.set_grad(fixture("optim", "clip_g2"));
    const float norm = clip_grad_norm({a, b}, 2.0f);
    CHECK(norm == doctest::Approx(fixture("optim", "clip_total_norm")()).epsilon(1e-5));
    CHECK_TORCH(a.grad(), fixture("optim", "clip_g1_after"));
    CHECK_TORCH(b.grad(), fixture("optim", "clip_g2_after"));
}

TEST_CASE("clip_grad_norm: the vectorised norm of large gradients equals a plain double sum; under the limit nothing changes") {
    Tensor a(zeros({37, 29}), true), b(zeros({1001}), true);  // lengths that leave a tail after the vector blocks
    Array ga = xt::linspace<float>(-3.0f, 2.0f, 37 * 29), gb = xt::linspace<float>(0.5f, -1.5f, 1001);
    ga.reshape({37, 29});
    double plain = 0.0;
    for (float v : ga) plain += static_cast<double>(v) * v;
    for (float v : gb) plain += static_cast<double>(v) * v;
    a.set_grad(ga);
    b.set_grad(gb);
    const float norm = clip_grad_norm({a, b}, 1e6f);
    CHECK(norm == doctest::Approx(std::sqrt(plain)).epsilon(1e-6));
    CHECK(a.grad() == ga);  // the limit is far above the norm
    const float clipped = clip_grad_norm({a, b}, 1.0f);
    CHECK(clipped == doctest::Approx(std::sqrt(plain)).epsilon(1e-6));
    CHECK(static_cast<double>(xt::sum(a.grad() * a.grad())() + xt::sum(b.grad() * b.grad())()) == doctest::Approx(1.0).epsilon(1e-4));
}

TEST_CASE("StepLR, ExponentialLR and ReduceLROnPlateau: learning rates match PyTorch") {
    Tensor p(zeros({1}), true);
    SGD opt({p}, {.lr = 1.0f});
    const Array step_lr = fixture("sched", "step_lr");
    StepLR s(opt, 3, 0.5f);
    for (std::size_t e = 0; e < 12; ++e) {
        CHECK(opt.lr == doctest::Approx(step_lr(e)));
        s.step();
    }
    opt.lr = 1.0f;
    const Array exp_lr = fixture("sched", "exponential_lr");
    ExponentialLR x(opt, 0.9f);
    for (std::size_t e = 0; e < 12; ++e) {
        CHECK(opt.lr == doctest::Approx(exp_lr(e)));
        x.step();
    }
    opt.lr = 1.0f;
    const Array metrics = fixture("sched", "plateau_metrics"), plateau = fixture("sched", "plateau_lr");
    ReduceLROnPlateau r(opt, {.factor = 0.5f, .patience = 2, .min_lr = 0.01f});
    for (std::size_t e = 0; e < 12; ++e) {
        r.step(metrics(e));
        INFO("epoch " << e);
        CHECK(opt.lr == doctest::Approx(plateau(e)));
    }
}

TEST_CASE("Adam: one step on a real loss lowers it") {
    autograd::manual_seed(2);
    Linear fc(4, 3);
    Tensor x(autograd::randn({16, 4}));
    const Indices y = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0};
    Adam opt(fc.parameters(), {.lr = 1e-2f});
    Tensor before = autograd::cross_entropy(fc(x), y);
    before.backward();
    opt.step();
    const float after = autograd::cross_entropy(fc(x), y).item();
    CHECK(after < before.item());
}

TEST_CASE("Adam: state round-trips, and a wrong state is refused with every problem named") {
    Tensor p(ones({2, 2}), true);
    p.set_name("w");
    Adam a({p});
    p.set_grad(ones({2, 2}));
    a.step();
    OptimizerState st = a.state();
    Tensor q(ones({2, 2}), true);
    q.set_name("w");
    Adam b({q});
    b.load_state(st);
    CHECK(b.steps() == 1);
    Tensor r(ones({3}), true);
    r.set_name("w");
    Adam c({r});
    CHECK_THROWS_WITH_AS(c.load_state(st), doctest::Contains("w: saved shape [2, 2], parameter shape [3]"), Error);
}

TEST_CASE("Optimizer::update_during_backward: the same updates as step() after backward(), gradients dropped") {
    autograd::manual_seed(8);
    Linear a1(4, 3), a2(3, 2);
    Linear b1(4, 3), b2(3, 2);
    for (std::size_t i = 0; i < 2; ++i) {
        b1.parameters()[i].mutable_value() = a1.parameters()[i].value();
        b2.parameters()[i].mutable_value() = a2.parameters()[i].value();
    }
    auto params = [](Linear& x, Linear& y) {
        auto p = x.parameters();
        for (auto& t : y.parameters()) p.push_back(t);
        return p;
    };
    Adam plain(params(a1, a2), {.lr = 0.05f});
    Adam fused(params(b1, b2), {.lr = 0.05f});
    fused.update_during_backward();
    const Indices y = {0, 1, 1, 0};
    for (int step = 0; step < 3; ++step) {
        const Tensor x(autograd::randn({4, 4}));
        autograd::cross_entropy(a2(autograd::relu(a1(x))), y).backward();
        plain.step();
        plain.zero_grad();
        fused.begin_step();
        autograd::cross_entropy(b2(autograd::relu(b1(x))), y).backward();
        for (auto& p : params(b1, b2)) CHECK_FALSE(p.has_grad());  // updated and dropped inside backward()
    }
    auto pa = params(a1, a2), pb = params(b1, b2);
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK_CLOSE(pb[i].value(), pa[i].value(), 1e-6, 1e-7);
}

TEST_CASE("on_grad_ready: runs once the sweep has passed every use of a leaf") {
    Tensor w(array({2.0f}), true);
    int calls = 0;
    float seen = 0;
    w.on_grad_ready([&] {
        ++calls;
        seen = w.grad()(0);
    });
    Tensor h = w * w;            // first use: the hook fires after this entry's rule
    Tensor y = autograd::sum(h * w + w);  // later uses contribute first (reverse order)
    y.backward();
    CHECK(calls == 1);
    CHECK(seen == doctest::Approx(3 * 4.0f + 1));  // d(w^3 + w)/dw = 3 w^2 + 1
}

TEST_CASE("update_during_backward: a parameter first used off the loss's path is still updated") {
    Tensor w(array({1.0f, 2.0f}), true);
    w.set_name("w");
    SGD sgd({w}, {.lr = 0.5f});
    sgd.update_during_backward();
    Tensor metric = w * 3.0f;               // first use of w: not part of the loss
    Tensor loss = autograd::sum(w * w);     // d/dw = 2w
    loss.backward();
    CHECK_FALSE(w.has_grad());
    CHECK_ARRAY_EQ(w.value(), array({0.0f, 0.0f}));  // w - 0.5 * 2w
    (void)metric;
}

TEST_CASE("SGD: momentum state round-trips even when some parameters were never updated") {
    Tensor a(ones({2}), true), b(ones({3}), true);
    a.set_name("a");
    b.set_name("b");
    SGD s({a, b}, {.lr = 0.1f, .momentum = 0.9f});
    a.set_grad(ones({2}));
    s.step();  // b has no gradient: no buffer
    const OptimizerState st = s.state();
    CHECK(st.size() == 1);
    Tensor a2(ones({2}), true), b2(ones({3}), true);
    a2.set_name("a");
    b2.set_name("b");
    SGD t({a2, b2}, {.lr = 0.1f, .momentum = 0.9f});
    CHECK_NOTHROW(t.load_state(st));
    a2.mutable_value() = a.value();  // as a checkpoint restores the parameters too
    a.set_grad(ones({2}));
    a2.set_grad(ones({2}));
    s.step();
    t.step();
    CHECK_CLOSE(a2.value(), array({0.71f, 0.71f}), 0, 1e-6);  // 0.9 - 0.1 * (0.9 * 1 + 1)
    CHECK_ARRAY_EQ(a2.value(), a.value());
}

TEST_CASE("AdamW: keeps its default weight decay when only the learning rate is given") {
    Tensor p(ones({1}), true);
    AdamW opt({p}, {.lr = 0.1f});
    p.set_grad(zeros({1}));
    opt.step();
    // zero gradient: only the decoupled decay acts, p *= 1 - lr * 0.01
    CHECK(p.value()(0) == doctest::Approx(1.0f - 0.1f * 0.01f));
}
