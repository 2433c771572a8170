// Moving floats around: the blocks of the shape ops (concat, slice, select,
// stack), rows picked by id (the embedding lookup) and their scatter-add back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "autograd/kernels/reduce.hpp"

namespace tapegrad::kernels {

// dst[:, dst_off : dst_off + len, :] = src[:, src_off : src_off + len, :] for two
// arrays split as [outer, n, inner] around the same axis (equal outer and inner).
void copy_block(const float* src, AxisSplit s, std::size_t src_off, float* dst, AxisSplit d, std::size_t dst_off,
                std::size_t len);

// out[k] = table[ids[k]] for rows of D floats.
void gather_rows(const float* table, std::size_t D, const std::int64_t* ids, std::size_t count, float* out);

// dtable [V, D] = the sum of g[k] over every k with ids[k] = v, in row v (zero for
// ids never seen); ids equal to skip_id add nothing. The pool's threads take
// ranges of rows, each adding its ids in order, so the result is the serial one.
void scatter_add_rows(const float* g, std::size_t D, const std::int64_t* ids, std::size_t count, std::int64_t skip_id,
                      std::size_t V, float* dtable);

// dst = src with its axes permuted: dst's axis i is src's axis perm[i] (src
// row-major with `shape`). When the last axis stays last, whole rows are copied
// (splitting heads, [B, L, H, d] -> [B, H, L, d]); a 2-D transpose goes to BLAS's
// out-of-place transpose; anything else is copied element by element.
void permute(const float* src, std::span<const std::size_t> shape, std::span<const std::size_t> perm, float* dst);

// Attention heads out of a row of features and back. x is [B, L, F]; features
// [from, from + H d) of each position, cut into H runs of d, are the heads
// [B, H, L, d]. gather_heads writes heads from x; scatter_heads writes those
// features of x from heads and zeroes x's others.
void gather_heads(const float* x, std::size_t B, std::size_t L, std::size_t F, std::size_t from, std::size_t H,
                  std::size_t d, float* heads);
void scatter_heads(const float* heads, std::size_t B, std::size_t L, std::size_t F, std::size_t from, std::size_t H,
                   std::size_t d, float* x);

// out [rows, cols] = row repeated on every row (a bias under a product).
void repeat_row(const float* row, std::size_t rows, std::size_t cols, float* out);

}  // namespace tapegrad::kernels
