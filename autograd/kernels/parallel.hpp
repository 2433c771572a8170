// The project's one thread pool: the calling thread plus helper threads, as many
// threads in all as num_threads() (set_num_threads; by default one per core this
// process may run on). With two or more, sgemm (blas.hpp) cuts each large product
// into that many pieces computed at once, and the elementwise passes between
// products (softmax rows, the optimiser's update) split their ranges the same way.
// OpenBLAS itself stays on one thread: its own workers spin for a while after
// every product, and a pass that shared a core with them ran slower than on one
// thread (docs/performance.md). With one thread everything runs on the caller.
//
// A helper spins for ~50 us after a job (the next one usually follows at once),
// yielding its core now and then, then sleeps on an atomic. A helper the operating
// system has not scheduled in time (another process busy on its core) delays
// nothing: the caller takes its piece as well.
#pragma once

#include <cstddef>
#include <functional>

namespace tapegrad::kernels {

// Calls body(begin, end, part) on disjoint pieces covering [0, n), part = 0, 1, ...
// numbering the pieces in order: as many pieces as threads, and at most most_parts.
// Every thread of the pool, the caller included, takes the next untaken piece
// until none is left, so which thread runs a piece varies, but the pieces do not:
// a result that depends on the split (per-part partial sums) is the same from run
// to run. There are at most n / min_piece pieces; each starts at a multiple of
// `grain` (keeps SIMD loops aligned), so sizes are equal up to a grain and the
// last, or one in the middle, may be short or empty. Runs on the caller alone
// when n < 2 * min_piece, with one thread, inside another parallel_for's piece, or
// while another thread holds the helpers. Returns the number of pieces, so that
// the caller can combine per-part partial results (size them by most_parts).
// An exception thrown by any piece is rethrown here, after every piece finished.
std::size_t parallel_for(std::size_t n, std::size_t min_piece,
                         const std::function<void(std::size_t begin, std::size_t end, std::size_t part)>& body,
                         std::size_t grain = 16, std::size_t most_parts = static_cast<std::size_t>(-1));

// How many parts parallel_for may use now: num_threads().
std::size_t max_parts();

// The threads of the pool, the caller included (set once at start-up, before
// other threads compute; n < 1 means 1). By default, one per core this process
// may run on.
void set_num_threads(int n);
int num_threads();

// While paused, helpers take no pieces, as if the operating system never scheduled
// them (for tests: the caller must then do every piece itself).
void set_helpers_paused(bool paused);

}  // namespace tapegrad::kernels
