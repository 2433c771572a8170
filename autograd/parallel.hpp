// The project's one thread pool: the calling thread plus one helper thread. With
// two threads (blas::set_num_threads(2), the default on 2 cores), blas::sgemm cuts
// each large product in two halves computed at once, and the elementwise passes
// between products (softmax rows, the optimiser's update) split their ranges the
// same way. OpenBLAS itself stays on one thread: its own workers spin for a while
// after every product, and a pass that shared a core with them ran slower than on
// one thread (docs/performance.md). With one thread everything runs on the caller.
//
// The helper spins for ~50 us after a job (the next one usually follows at once),
// then sleeps on an atomic.
#pragma once

#include <cstddef>
#include <functional>

namespace tapegrad::parallel {

// Calls body(begin, end, part) on disjoint pieces covering [0, n): part 0 on the
// calling thread, part 1 (if any) on the helper. Pieces are split at a multiple of
// `grain` (keeps SIMD loops aligned). Runs on the caller alone when n < 2 * min_piece,
// with one thread, inside another parallel_for's piece, or while another thread
// holds the helper. Returns the number of parts used (1 or 2), so that the
// caller can combine per-part partial results. An exception thrown by either part
// is rethrown here, after both parts have finished.
std::size_t parallel_for(std::size_t n, std::size_t min_piece,
                         const std::function<void(std::size_t begin, std::size_t end, std::size_t part)>& body,
                         std::size_t grain = 16);

// How many parts parallel_for would use for a large range now (1 or 2).
std::size_t max_parts();

}  // namespace tapegrad::parallel
