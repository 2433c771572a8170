// Micro-benchmarks of the engine (Google Benchmark):
//  - matmul through the tape (forward, and forward + backward) against a raw
//    cblas_sgemm of the same shape, run by OpenBLAS alone on its own thread pool of
//    the same size (blas::openblas_sgemm), reported as GFLOP/s. The tape's products
//    go through blas::sgemm, which splits them over the project's own threads;
//    at one thread both sides are the same OpenBLAS call;
//  - the tape's bookkeeping per recorded op on small tensors.
// Run: build/bench/micro [--benchmark_filter=...]; bench/run runs it for results.md.
#include <benchmark/benchmark.h>

#include "autograd/autograd.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;

namespace {

void set_flops(benchmark::State& st, double flops_per_iter) {
    st.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// [M, K] x [K, N]
void BM_sgemm_raw(benchmark::State& st) {
    const auto M = static_cast<std::size_t>(st.range(0)), K = static_cast<std::size_t>(st.range(1)),
               N = static_cast<std::size_t>(st.range(2));
    const Array a = randn({M, K}), b = randn({K, N});
    Array c = Array::from_shape({M, N});
    for (auto _ : st) {
        blas::openblas_sgemm(false, false, int(M), int(N), int(K), 1.0f, a.data(), int(K), b.data(), int(N), 0.0f, c.data(), int(N));
        benchmark::DoNotOptimize(c.data());
    }
    set_flops(st, 2.0 * M * K * N);
}

void BM_matmul_tape_forward(benchmark::State& st) {
    const auto M = static_cast<std::size_t>(st.range(0)), K = static_cast<std::size_t>(st.range(1)),
               N = static_cast<std::size_t>(st.range(2));
    Tensor a(randn({M, K}), true), b(randn({K, N}), true);
    for (auto _ : st) {
        Tensor c = matmul(a, b);
        benchmark::DoNotOptimize(c.value().data());
        Tape::current().clear();
    }
    set_flops(st, 2.0 * M * K * N);
}

// Forward and backward: three GEMMs of the same size (c, da, db).
void BM_matmul_tape_forward_backward(benchmark::State& st) {
    const auto M = static_cast<std::size_t>(st.range(0)), K = static_cast<std::size_t>(st.range(1)),
               N = static_cast<std::size_t>(st.range(2));
    Tensor a(randn({M, K}), true), b(randn({K, N}), true);
    for (auto _ : st) {
        st.PauseTiming();
        Array seed = ones({M, N});  // the upstream gradient, made outside the timed region
        st.ResumeTiming();
        Tensor c = matmul(a, b);
        c.backward(std::move(seed));
        benchmark::DoNotOptimize(a.grad().data());
        a.zero_grad();
        b.zero_grad();
    }
    set_flops(st, 3 * 2.0 * M * K * N);
}

// The same three GEMMs called directly, into buffers made once: the floor for the
// line above. It pays the same harness cost (PauseTiming/ResumeTiming and a fresh
// upstream gradient made outside the timed region, together about 14 us a step on
// the 32 x 256 x 768 shape at 1 thread), so that the ratio measures the tape alone.
void BM_sgemm_raw_three(benchmark::State& st) {
    const auto M = static_cast<std::size_t>(st.range(0)), K = static_cast<std::size_t>(st.range(1)),
               N = static_cast<std::size_t>(st.range(2));
    const Array a = randn({M, K}), b = randn({K, N});
    Array c = Array::from_shape({M, N}), da = Array::from_shape({M, K}), db = Array::from_shape({K, N});
    for (auto _ : st) {
        st.PauseTiming();
        const Array g = ones({M, N});
        st.ResumeTiming();
        blas::openblas_sgemm(false, false, int(M), int(N), int(K), 1.0f, a.data(), int(K), b.data(), int(N), 0.0f, c.data(), int(N));
        blas::openblas_sgemm(false, true, int(M), int(K), int(N), 1.0f, g.data(), int(N), b.data(), int(N), 0.0f, da.data(), int(K));
        blas::openblas_sgemm(true, false, int(K), int(N), int(M), 1.0f, a.data(), int(K), g.data(), int(N), 0.0f, db.data(), int(N));
        benchmark::DoNotOptimize(db.data());
    }
    set_flops(st, 3 * 2.0 * M * K * N);
}

void shapes(benchmark::internal::Benchmark* b) {
    b->Args({128, 784, 400})->Args({32, 256, 768})->Args({800, 256, 10000})->Unit(benchmark::kMicrosecond)->UseRealTime()
        ->MinTime(0.5);  // bench/run repeats each 10 times, interleaved, and reports the medians
}

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

}  // namespace

BENCHMARK(BM_sgemm_raw)->Apply(shapes);
BENCHMARK(BM_matmul_tape_forward)->Apply(shapes);
BENCHMARK(BM_sgemm_raw_three)->Apply(shapes);
BENCHMARK(BM_matmul_tape_forward_backward)->Apply(shapes);
BENCHMARK(BM_add_small_raw_xtensor)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_add_small_untracked)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_add_small_recorded)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_tape_chain_per_op)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
    blas::set_num_threads(1);
    if (const char* t = std::getenv("TAPEGRAD_THREADS")) blas::set_num_threads(std::atoi(t));
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
