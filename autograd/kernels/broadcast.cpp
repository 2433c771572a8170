// Arithmetic along runs (broadcast.hpp).
#include "autograd/kernels/broadcast.hpp"

#include <algorithm>

namespace tapegrad::kernels {

std::size_t run_length(std::span<const std::size_t> c, std::span<const std::size_t> full) {
    const std::size_t n = full.size();
    if (c.size() > n || std::equal(c.begin(), c.end(), full.begin(), full.end())) return 0;
    const std::size_t pad = n - c.size();
    auto dim = [&](std::size_t i) -> std::size_t { return i < pad ? 1 : c[i - pad]; };  // c's, padded to n axes
    std::size_t k = n;  // c is 1 on the axes k..n-1
    while (k > 0 && dim(k - 1) == 1) --k;
    for (std::size_t i = 0; i < k; ++i)
        if (dim(i) != full[i]) return 0;
    std::size_t run = 1;
    for (std::size_t i = k; i < n; ++i) run *= full[i];
    return run;
}

namespace {
template <class F>
void runs_of(const float* x, const float* c, std::size_t runs, std::size_t run, float* out, F f) {
    for (std::size_t o = 0; o < runs; ++o) {
        const float k = c[o];
        const float* xr = x + o * run;
        float* yr = out + o * run;
#pragma omp simd
        for (std::size_t i = 0; i < run; ++i) yr[i] = f(xr[i], k);
    }
}
}  // namespace

void along_runs(Arith op, const float* x, const float* c, std::size_t runs, std::size_t run, float* out) {
    switch (op) {
        case Arith::add: return runs_of(x, c, runs, run, out, [](float v, float k) { return v + k; });
        case Arith::sub: return runs_of(x, c, runs, run, out, [](float v, float k) { return v - k; });
        case Arith::sub_from: return runs_of(x, c, runs, run, out, [](float v, float k) { return k - v; });
        case Arith::mul: return runs_of(x, c, runs, run, out, [](float v, float k) { return v * k; });
        case Arith::div: return runs_of(x, c, runs, run, out, [](float v, float k) { return v / k; });
        case Arith::div_into: return runs_of(x, c, runs, run, out, [](float v, float k) { return k / v; });
    }
}

}  // namespace tapegrad::kernels
