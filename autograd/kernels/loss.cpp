// Row loops of the classification losses (loss.hpp).
#include "autograd/kernels/loss.hpp"

#include <algorithm>

#include "autograd/kernels/simd.hpp"

namespace tapegrad::kernels {

void nll_rows(const float* lp, std::size_t N, std::size_t C, const std::int64_t* t, std::int64_t ignore, float* rows) {
    for (std::size_t n = 0; n < N; ++n)
        rows[n] = t[n] == ignore ? 0.0f : -lp[n * C + static_cast<std::size_t>(t[n])];
}

void nll_backward(RowGrad g, std::size_t N, std::size_t C, const std::int64_t* t, std::int64_t ignore, float* d) {
    std::fill(d, d + N * C, 0.0f);
    for (std::size_t n = 0; n < N; ++n)
        if (t[n] != ignore) d[n * C + static_cast<std::size_t>(t[n])] = -g.at(n);
}

void cross_entropy_rows(const float* x, std::size_t N, std::size_t C, const std::int64_t* t, std::int64_t ignore,
                        float* lse, float* rows) {
    for (std::size_t n = 0; n < N; ++n) {
        lse[n] = rows[n] = 0.0f;
        if (t[n] == ignore) continue;
        lse[n] = logsumexp(x + n * C, C);
        rows[n] = lse[n] - x[n * C + static_cast<std::size_t>(t[n])];
    }
}

void cross_entropy_backward(const float* x, const float* lse, RowGrad g, std::size_t N, std::size_t C,
                            const std::int64_t* t, std::int64_t ignore, float* d) {
    for (std::size_t n = 0; n < N; ++n) {
        float* dn = d + n * C;
        if (t[n] == ignore) {
            std::fill(dn, dn + C, 0.0f);
            continue;
        }
        exp_shift(x + n * C, lse[n], dn, C);
        dn[t[n]] -= 1.0f;
        scale(g.at(n), dn, C);
    }
}

}  // namespace tapegrad::kernels
