// Element-wise arithmetic where one operand, c, is constant over runs of
// consecutive elements of the other, x: c is 1 on x's trailing axes and equal to
// x's shape on the rest (leading axes c lacks count as 1). A single number is the
// case of one run (`x * 0.5f`); masks and per-row scales are the others ([B, 1]
// against [B, H], [B, T, 1] or [B, 1, 1] against [B, T, H]). xtensor assigns such
// broadcasts element by element through its strided loop, many times slower than
// equal shapes (docs/performance.md); here they are vectorised loops over the runs.
// An operand broadcast along leading axes ([H] against [B, H]) is fast in xtensor
// and is left to it.
#pragma once

#include <cstddef>
#include <span>

namespace tapegrad::kernels {

// The run length when `c` relates to `full` as above; 0 when it does not (equal
// shapes included).
std::size_t run_length(std::span<const std::size_t> c, std::span<const std::size_t> full);

// x + c, x - c, c - x, x * c, x / c, c / x
enum class Arith { add, sub, sub_from, mul, div, div_into };

// out[o * run + i] = x[o * run + i] (op) c[o]   for o < runs, i < run
void along_runs(Arith op, const float* x, const float* c, std::size_t runs, std::size_t run, float* out);

}  // namespace tapegrad::kernels
