// Block and row copies (copy.hpp).
#include "autograd/kernels/copy.hpp"

#include <algorithm>
#include <cstring>

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

void repeat_row(const float* row, std::size_t rows, std::size_t cols, float* out) {
    for (std::size_t r = 0; r < rows; ++r) std::copy(row, row + cols, out + r * cols);
}

}  // namespace tapegrad::kernels
