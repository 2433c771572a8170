// The row loops of the classification losses (../ops/loss.cpp): each row n of
// scores [N, C] has a target class t_n, or ignore_index to be skipped.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapegrad::kernels {

// The upstream gradient of row n's loss: g[n] for per-row losses, else the single
// g[0] divided by `divisor` (the number of counted rows for a mean, 1 for a sum;
// 0 counted rows give 0).
struct RowGrad {
    const float* g = nullptr;
    bool per_row = false;
    float divisor = 1.0f;
    float at(std::size_t n) const { return per_row ? g[n] : divisor != 0.0f ? g[0] / divisor : 0.0f; }
};

// rows[n] = -lp[n, t_n] (0 for ignored rows).
void nll_rows(const float* lp, std::size_t N, std::size_t C, const std::int64_t* t, std::int64_t ignore, float* rows);
// d [N, C] = -g_n at (n, t_n), 0 elsewhere.
void nll_backward(RowGrad g, std::size_t N, std::size_t C, const std::int64_t* t, std::int64_t ignore, float* d);

// lse[n] = logsumexp(x_n), rows[n] = lse[n] - x[n, t_n] (both 0 for ignored rows).
void cross_entropy_rows(const float* x, std::size_t N, std::size_t C, const std::int64_t* t, std::int64_t ignore,
                        float* lse, float* rows);
// d [N, C] = g_n (softmax(x_n) - onehot(t_n)), softmax(x_n) = exp(x_n - lse[n]).
void cross_entropy_backward(const float* x, const float* lse, RowGrad g, std::size_t N, std::size_t C,
                            const std::int64_t* t, std::int64_t ignore, float* d);

}  // namespace tapegrad::kernels
