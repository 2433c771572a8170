// Micro-benchmarks of the engine (Google Benchmark):
//  - matmul through the tape (forward, and forward + backward) against a raw
//    cblas_sgemm of the same shape, run by OpenBLAS alone on its own thread pool of
//    the same size (kernels::openblas_sgemm), reported as GFLOP/s. The tape's products
//    go through kernels::sgemm, which splits them over the project's own threads;
//    at one thread both sides are the same OpenBLAS call. Each side runs as its own
//    benchmark, and, at one thread, also paired: both sides timed back to back in
//    the same loop (see `paired` below);
//  - the tape's bookkeeping per recorded op on small tensors.
// Run: build/bench/micro [--benchmark_filter=...]; bench/run runs it for results.md.
#include <benchmark/benchmark.h>

#include <chrono>

#include "autograd/autograd.hpp"
#include "autograd/kernels/blas.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;

namespace {

// The operands of one [M, K] x [K, N] product, and its two sides: the raw OpenBLAS
// calls into output buffers made once, and the same product through the tape. Both
// sides read the same operands in the same memory.
struct Product {
    std::size_t M, K, N;
    Tensor ta, tb;
    const float *a, *b;
    Array c, da, db;  // the raw side's outputs
    explicit Product(const benchmark::State& st)
        : M(static_cast<std::size_t>(st.range(0))), K(static_cast<std::size_t>(st.range(1))),
          N(static_cast<std::size_t>(st.range(2))), ta(randn({M, K}), true), tb(randn({K, N}), true),
          a(ta.value().data()), b(tb.value().data()), c(Array::from_shape({M, N})),
          da(Array::from_shape({M, K})), db(Array::from_shape({K, N})) {}
    double flops() const { return 2.0 * M * K * N; }

    void raw_forward() {
        kernels::openblas_sgemm(false, false, int(M), int(N), int(K), 1.0f, a, int(K), b, int(N), 0.0f, c.data(), int(N));
        benchmark::DoNotOptimize(c.data());
    }
    // c = a b, da = g b^T, db = a^T g: the three GEMMs of a forward and backward.
    void raw_three(const Array& upstream) {
        raw_forward();
        kernels::openblas_sgemm(false, true, int(M), int(K), int(N), 1.0f, upstream.data(), int(N), b, int(N), 0.0f, da.data(), int(K));
        kernels::openblas_sgemm(true, false, int(K), int(N), int(M), 1.0f, a, int(K), upstream.data(), int(N), 0.0f, db.data(), int(N));
        benchmark::DoNotOptimize(db.data());
    }
    void tape_forward() {
        Tensor y = matmul(ta, tb);
        benchmark::DoNotOptimize(y.value().data());
        Tape::current().clear();
    }
    void tape_forward_backward(Array&& seed) {
        Tensor y = matmul(ta, tb);
        y.backward(std::move(seed));
        benchmark::DoNotOptimize(ta.grad().data());
        ta.zero_grad();
        tb.zero_grad();
    }
};

void set_flops(benchmark::State& st, double flops_per_iter) {
    st.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_sgemm_raw(benchmark::State& st) {
    Product p(st);
    for (auto _ : st) p.raw_forward();
    set_flops(st, p.flops());
}

void BM_matmul_tape_forward(benchmark::State& st) {
    Product p(st);
    for (auto _ : st) p.tape_forward();
    set_flops(st, p.flops());
}

// Forward and backward: three GEMMs of the same size (c, da, db).
void BM_matmul_tape_forward_backward(benchmark::State& st) {
    Product p(st);
    for (auto _ : st) {
        st.PauseTiming();
        Array seed = ones({p.M, p.N});  // the upstream gradient, made outside the timed region
        st.ResumeTiming();
        p.tape_forward_backward(std::move(seed));
    }
    set_flops(st, 3 * p.flops());
}

// The same three GEMMs called directly, into buffers made once: the floor for the
// line above. It pays the same harness cost (PauseTiming/ResumeTiming and a fresh
// upstream gradient made outside the timed region, together about 14 us a step on
// the 32 x 256 x 768 shape at 1 thread), so that the ratio measures the tape alone.
void BM_sgemm_raw_three(benchmark::State& st) {
    Product p(st);
    for (auto _ : st) {
        st.PauseTiming();
        const Array g = ones({p.M, p.N});
        st.ResumeTiming();
        p.raw_three(g);
    }
    set_flops(st, 3 * p.flops());
}

// Paired: each iteration times the raw side and the tape side back to back (in
// alternating order), so both see the same state of a shared machine. The benchmarks
// above run the two sides seconds apart, and on this host their ratio for a 0.1 ms
// product scatters by several percent between repetitions from drift alone
// (docs/performance.md). `prepare` runs untimed before each side, alike for both
// (the fwd+bwd case makes a fresh upstream gradient there: writing it just before a
// product costs the product a few microseconds, so both sides must pay it).
// "ratio" is the tape's rate over the raw rate: summed raw time over summed tape time.
template <class Prepare, class Raw, class Tape>
void paired(benchmark::State& st, double flops_per_iter, Prepare&& prepare, Raw&& raw, Tape&& tape) {
    using clock = std::chrono::steady_clock;
    double raw_s = 0.0, tape_s = 0.0;
    bool raw_first = true;
    auto timed = [&](auto&& side) {
        prepare();
        const auto t0 = clock::now();
        side();
        return std::chrono::duration<double>(clock::now() - t0).count();
    };
    for (auto _ : st) {
        double r = 0.0, t = 0.0;
        if (raw_first) {
            r = timed(raw);
            t = timed(tape);
        } else {
            t = timed(tape);
            r = timed(raw);
        }
        raw_first = !raw_first;
        st.SetIterationTime(r + t);
        raw_s += r;
        tape_s += t;
    }
    const double n = static_cast<double>(st.iterations());
    st.counters["raw GFLOP/s"] = flops_per_iter * n / raw_s * 1e-9;
    st.counters["tape GFLOP/s"] = flops_per_iter * n / tape_s * 1e-9;
    st.counters["ratio"] = raw_s / tape_s;
}

void BM_paired_forward(benchmark::State& st) {
    Product p(st);
    paired(st, p.flops(), [] {}, [&] { p.raw_forward(); }, [&] { p.tape_forward(); });
}

void BM_paired_forward_backward(benchmark::State& st) {
    Product p(st);
    Array seed;
    // Each side frees its upstream gradient inside its timed part: the tape's
    // backward() consumes it, and the raw side takes it over likewise.
    paired(st, 3 * p.flops(), [&] { seed = ones({p.M, p.N}); },
           [&] {
               const Array g = std::move(seed);
               p.raw_three(g);
           },
           [&] { p.tape_forward_backward(std::move(seed)); });
}

void shapes(benchmark::internal::Benchmark* b) {
    b->Args({128, 784, 400})->Args({32, 256, 768})->Args({800, 256, 10000})->Unit(benchmark::kMicrosecond)
        ->MinTime(0.5);  // bench/run repeats each 10 times, interleaved, and reports the medians
}
void separate_runs(benchmark::internal::Benchmark* b) { shapes(b->UseRealTime()); }
void paired_runs(benchmark::internal::Benchmark* b) { shapes(b->UseManualTime()); }

// Tape bookkeeping: `add` on [32, 16] recorded (requires_grad) versus the same
// arithmetic on plain arrays; the difference is the cost of recording one op.
void BM_add_small_recorded(benchmark::State& st) {
    Tensor a(randn({32, 16}), true), b(randn({32, 16}), true);
    std::size_t n = 0;
    for (auto _ : st) {
        Tensor c = a + b;
        benchmark::DoNotOptimize(c.value().data());
        if (++n % 1000 == 0) Tape::current().clear();
    }
    Tape::current().clear();
}

void BM_add_small_untracked(benchmark::State& st) {
    Tensor a(randn({32, 16})), b(randn({32, 16}));
    for (auto _ : st) {
        Tensor c = a + b;
        benchmark::DoNotOptimize(c.value().data());
    }
}

void BM_add_small_raw_xtensor(benchmark::State& st) {
    const Array a = randn({32, 16}), b = randn({32, 16});
    for (auto _ : st) {
        Array c = a + b;
        benchmark::DoNotOptimize(c.data());
    }
}

// A whole recorded forward + backward of a chain of small ops, per op.
void BM_tape_chain_per_op(benchmark::State& st) {
    Tensor w(randn({32, 16}), true);
    for (auto _ : st) {
        Tensor h = w;
        for (int i = 0; i < 100; ++i) h = h * 0.5f + w;
        sum(h).backward();
        w.zero_grad();
    }
    st.SetItemsProcessed(st.iterations() * 201);  // ops per iteration (mul + add per link, and sum)
}

// The passes between the Transformer VAE's products, forward and backward, at the
// sizes of its training step (about 703 tokens: [703, 1024] is the feed-forward's
// hidden layer, [703, 256] a sub-layer's output).
template <class Op>
void elementwise_pass(benchmark::State& st, Op op) {
    Tensor x(randn({std::size_t(st.range(0)), std::size_t(st.range(1))}), true);
    for (auto _ : st) {
        Tensor y = op(x);
        y.backward(Array(xt::ones<float>(y.shape())));
        benchmark::DoNotOptimize(x.grad().data());
        x.zero_grad();
    }
    st.SetItemsProcessed(st.iterations() * st.range(0) * st.range(1));
}
void BM_scale(benchmark::State& st) { elementwise_pass(st, [](const Tensor& x) { return x * 2.0f; }); }
void BM_dropout(benchmark::State& st) { elementwise_pass(st, [](const Tensor& x) { return dropout(x, 0.1f); }); }
void BM_gelu(benchmark::State& st) { elementwise_pass(st, [](const Tensor& x) { return gelu(x); }); }
void BM_layer_norm(benchmark::State& st) {
    const std::size_t d = std::size_t(st.range(1));
    Tensor w(xt::ones<float>({d}), true), b(xt::zeros<float>({d}), true);
    elementwise_pass(st, [&](const Tensor& x) { return layer_norm(x, w, b, 1e-5f); });
}
// The attention weights of one decoder layer: scores [32, 4, L, L] under a causal
// mask [L, L] plus a key-padding mask [32, 1, 1, L], as the Transformer VAE adds them.
void BM_masked_softmax(benchmark::State& st) {
    const std::size_t L = std::size_t(st.range(0));
    const Tensor mask = Tensor(causal_mask(L)) + Tensor(zeros({32, 1, 1, L}));
    Tensor x(randn({32, 4, L, L}), true);
    for (auto _ : st) {
        Tensor y = softmax(x * 0.125f, -1, mask);
        y.backward(Array(xt::ones<float>(y.shape())));
        benchmark::DoNotOptimize(x.grad().data());
        x.zero_grad();
    }
}
void transformer_sizes(benchmark::internal::Benchmark* b) {
    b->Args({703, 256})->Args({703, 1024})->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_scale)->Apply(transformer_sizes);
BENCHMARK(BM_dropout)->Apply(transformer_sizes);
BENCHMARK(BM_gelu)->Apply(transformer_sizes);
BENCHMARK(BM_layer_norm)->Apply(transformer_sizes);
BENCHMARK(BM_masked_softmax)->Arg(40)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_sgemm_raw)->Apply(separate_runs);
BENCHMARK(BM_matmul_tape_forward)->Apply(separate_runs);
BENCHMARK(BM_sgemm_raw_three)->Apply(separate_runs);
BENCHMARK(BM_matmul_tape_forward_backward)->Apply(separate_runs);
BENCHMARK(BM_add_small_raw_xtensor)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_add_small_untracked)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_add_small_recorded)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_tape_chain_per_op)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
    kernels::set_num_threads(1);
    if (const char* t = std::getenv("TAPEGRAD_THREADS")) kernels::set_num_threads(std::atoi(t));
    // Paired runs at one thread only: there both sides are the same single-threaded
    // OpenBLAS call. With more, the raw side runs on OpenBLAS's pool and the tape's on
    // tapegrad's, and interleaving them call by call measures the two pools' idle
    // spinning getting in each other's way (ratios of 0.57-0.80), not the tape.
    if (kernels::num_threads() == 1) {
        benchmark::RegisterBenchmark("BM_paired_forward", BM_paired_forward)->Apply(paired_runs);
        benchmark::RegisterBenchmark("BM_paired_forward_backward", BM_paired_forward_backward)->Apply(paired_runs);
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
