// linear_cross_entropy's kernels (vocab_loss.hpp).
#include "autograd/kernels/vocab_loss.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/kernels/blas.hpp"
#include "autograd/kernels/memory.hpp"
#include "autograd/kernels/parallel.hpp"
#include "autograd/kernels/simd.hpp"

namespace tapegrad::kernels {

namespace {

// Logits of rows [from, from + n) into z (n x V), then per counted row: add the
// bias while finding the max, e = exp(z - max) in place, loss = max + log sum e -
// target logit. inv_sum (if not null) gets 1 / sum e.
void forward_rows(const VocabLoss& p, std::size_t from, std::size_t n, float* z, float* rows, float* inv_sum) {
    const std::size_t V = p.V;
    matmul_bt(p.x + from * p.H, p.w, z, n, p.H, V);
    parallel_for(n, 8, [&](std::size_t begin, std::size_t end, std::size_t) {
        for (std::size_t r = begin; r < end; ++r) {
            const std::size_t row = from + r;
            const std::int64_t t = p.targets[row];
            if (t == p.ignore) continue;
            float* zn = z + r * V;
            const float m = p.b ? add_max(p.b, zn, V) : max(zn, V);
            const float target_logit = zn[t];
            const float s = exp_shift(zn, m, zn, V);
            rows[row] = m + std::log(s) - target_logit;
            if (inv_sum) inv_sum[row] = 1.0f / s;
        }
    }, 1);
}

// Most floats in a block of logits when gradients are computed (8 MiB). Each
// block costs sgemm one more packing of the weight, so the rows are split into as
// few, equal blocks as fit (docs/performance.md measured 4 and 16 MiB).
constexpr std::size_t grad_block_floats = std::size_t{2} << 20;
// Most floats in a block of logits without gradients (evaluation: 16 MiB).
constexpr std::size_t eval_block_floats = std::size_t{4} << 20;

}  // namespace

void losses(const VocabLoss& p, float* rows) {
    std::fill(rows, rows + p.N, 0.0f);
    const std::size_t block = std::max<std::size_t>(1, eval_block_floats / std::max<std::size_t>(p.V, 1));
    Buffer z(std::min(block, p.N) * p.V);
    for (std::size_t from = 0; from < p.N; from += block)
        forward_rows(p, from, std::min(block, p.N - from), z.data(), rows, nullptr);
}

void loss_with_grads(const VocabLoss& p, float weight, float* rows, const VocabLossGrads& d) {
    const std::size_t N = p.N, H = p.H, V = p.V;
    std::fill(rows, rows + N, 0.0f);
    std::vector<float> inv_sum(N, 0.0f);
    if (d.w) std::fill(d.w, d.w + V * H, 0.0f);
    if (d.b) std::fill(d.b, d.b + V, 0.0f);
    const std::size_t blocks = std::max<std::size_t>(1, (N * V + grad_block_floats - 1) / grad_block_floats);
    const std::size_t block = std::max<std::size_t>(1, (N + blocks - 1) / blocks);
    Buffer z(std::min(block, N) * V);
    // The bias gradient is summed per thread (part 0 into d.b, part p > 0 into its own
    // buffer), and the buffers are added once, after the last block.
    const std::size_t most_parts = max_parts();
    std::vector<std::vector<float>> db_parts(d.b ? most_parts : 0);
    for (std::size_t part = 1; part < db_parts.size(); ++part) db_parts[part].assign(V, 0.0f);
    for (std::size_t from = 0; from < N; from += block) {
        const std::size_t n = std::min(block, N - from);
        forward_rows(p, from, n, z.data(), rows, inv_sum.data());  // z holds e = exp(z - max) for counted rows
        // dz = weight (e / sum - onehot) over e; the bias gradient gathered while each row is in cache.
        parallel_for(n, 8, [&](std::size_t begin, std::size_t end, std::size_t part) {
            float* db = !d.b ? nullptr : part == 0 ? d.b : db_parts[part].data();
            for (std::size_t r = begin; r < end; ++r) {
                float* dz = z.data() + r * V;
                const std::int64_t t = p.targets[from + r];
                if (t == p.ignore) {
                    std::fill(dz, dz + V, 0.0f);
                    continue;
                }
                scale(weight * inv_sum[from + r], dz, V);
                dz[t] -= weight;
                if (db) axpy(1.0f, dz, db, V);
            }
        }, 1, most_parts);
        if (d.x) matmul(z.data(), p.w, d.x + from * H, n, V, H);
        if (d.w) matmul_at(z.data(), p.x + from * H, d.w, V, n, H, /*accumulate=*/true);
    }
    for (std::size_t part = 1; part < db_parts.size(); ++part) axpy(1.0f, db_parts[part].data(), d.b, V);
}

void logits_and_losses(const VocabLoss& p, float* z, float* rows, float* inv_sum) {
    std::fill(rows, rows + p.N, 0.0f);
    std::fill(inv_sum, inv_sum + p.N, 0.0f);
    forward_rows(p, 0, p.N, z, rows, inv_sum);
}

void backward_from_logits(const VocabLoss& p, float* z, const float* inv_sum, RowGrad g, const VocabLossGrads& d) {
    const std::size_t N = p.N, H = p.H, V = p.V;
    // dz = g_n (e / sum - onehot), written over e; the bias gradient (column sums
    // of dz) is gathered in the same pass, while each row is in cache.
    if (d.b) std::fill(d.b, d.b + V, 0.0f);
    for (std::size_t n = 0; n < N; ++n) {
        float* dz = z + n * V;
        const std::int64_t t = p.targets[n];
        if (t == p.ignore) {
            std::fill(dz, dz + V, 0.0f);
            continue;
        }
        const float w = g.at(n);
        scale(w * inv_sum[n], dz, V);
        dz[t] -= w;
        if (d.b) axpy(1.0f, dz, d.b, V);
    }
    if (d.x) matmul(z, p.w, d.x, N, V, H);
    if (d.w) matmul_at(z, p.x, d.w, V, N, H);
}

}  // namespace tapegrad::kernels
