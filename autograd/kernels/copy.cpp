// Block and row copies (copy.hpp).
#include "autograd/kernels/copy.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "autograd/kernels/blas.hpp"
#include "autograd/kernels/parallel.hpp"
#include "autograd/kernels/simd.hpp"

namespace tapegrad::kernels {

void copy_block(const float* src, AxisSplit s, std::size_t src_off, float* dst, AxisSplit d, std::size_t dst_off,
                std::size_t len) {
    const std::size_t bytes = len * s.inner * sizeof(float);
    for (std::size_t o = 0; o < s.outer; ++o)
        std::memcpy(dst + (o * d.n + dst_off) * d.inner, src + (o * s.n + src_off) * s.inner, bytes);
}

void gather_rows(const float* table, std::size_t D, const std::int64_t* ids, std::size_t count, float* out) {
    for (std::size_t k = 0; k < count; ++k)
        std::memcpy(out + k * D, table + static_cast<std::size_t>(ids[k]) * D, D * sizeof(float));
}

void scatter_add_rows(const float* g, std::size_t D, const std::int64_t* ids, std::size_t count, std::int64_t skip_id,
                      std::size_t V, float* dtable) {
    // The table's gradient is dense (a 10k-word embedding: 12 MB to zero each
    // step), so the pool's threads take ranges of its rows: each zeroes its rows
    // and adds the ids that fall in them, in order, as one thread would.
    parallel_for(V, 256, [&](std::size_t begin, std::size_t end, std::size_t) {
        std::memset(dtable + begin * D, 0, (end - begin) * D * sizeof(float));
        for (std::size_t k = 0; k < count; ++k) {
            const std::int64_t id = ids[k];
            if (id != skip_id && static_cast<std::size_t>(id) >= begin && static_cast<std::size_t>(id) < end)
                axpy(1.0f, g + k * D, dtable + static_cast<std::size_t>(id) * D, D);
        }
    });
}

void permute(const float* src, std::span<const std::size_t> shape, std::span<const std::size_t> perm, float* dst) {
    const std::size_t n = shape.size();
    std::size_t total = 1;
    for (auto d : shape) total *= d;
    if (total == 0) return;
    if (n == 2 && perm[0] == 1) {
        transpose(static_cast<int>(shape[0]), static_cast<int>(shape[1]), src, dst);
        return;
    }
    std::vector<std::size_t> stride(n, 1);  // src's strides, in elements
    for (std::size_t a = n - 1; a-- > 0;) stride[a] = stride[a + 1] * shape[a + 1];
    const bool rows = n > 0 && perm[n - 1] == n - 1;  // the last axis stays last: copy rows
    const std::size_t run = rows ? shape[n - 1] : 1, outer = n - (rows ? 1 : 0);
    std::vector<std::size_t> index(outer, 0);  // position in dst's axes 0 .. outer - 1
    for (std::size_t done = 0; done < total; done += run) {
        std::size_t from = 0;
        for (std::size_t a = 0; a < outer; ++a) from += index[a] * stride[perm[a]];
        if (rows)
            std::memcpy(dst + done, src + from, run * sizeof(float));
        else
            dst[done] = src[from];
        for (std::size_t a = outer; a-- > 0;) {  // next index, row-major over dst's axes
            if (++index[a] < shape[perm[a]]) break;
            index[a] = 0;
        }
    }
}

void gather_heads(const float* x, std::size_t B, std::size_t L, std::size_t F, std::size_t from, std::size_t H,
                  std::size_t d, float* heads) {
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t h = 0; h < H; ++h)
            for (std::size_t l = 0; l < L; ++l) {
                const float* row = x + (b * L + l) * F + from + h * d;
                std::copy(row, row + d, heads + ((b * H + h) * L + l) * d);
            }
}

void scatter_heads(const float* heads, std::size_t B, std::size_t L, std::size_t F, std::size_t from, std::size_t H,
                   std::size_t d, float* x) {
    const std::size_t to = from + H * d;
    if (from > 0 || to < F)  // only the features the heads do not cover
        for (std::size_t r = 0; r < B * L; ++r) {
            std::fill(x + r * F, x + r * F + from, 0.0f);
            std::fill(x + r * F + to, x + (r + 1) * F, 0.0f);
        }
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t h = 0; h < H; ++h)
            for (std::size_t l = 0; l < L; ++l) {
                const float* run = heads + ((b * H + h) * L + l) * d;
                std::copy(run, run + d, x + (b * L + l) * F + from + h * d);
            }
}

void repeat_row(const float* row, std::size_t rows, std::size_t cols, float* out) {
    for (std::size_t r = 0; r < rows; ++r) std::copy(row, row + cols, out + r * cols);
}

}  // namespace tapegrad::kernels
