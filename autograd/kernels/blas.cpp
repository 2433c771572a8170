// Matrix products through OpenBLAS. Only this file includes <cblas.h>.
#include "autograd/kernels/blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "autograd/kernels/parallel.hpp"

namespace tapegrad::kernels {

namespace {

// OpenBLAS always runs on one thread: a product worth splitting is cut into
// pieces here, computed at once on the caller and the pool's helpers, which also
// take the elementwise passes between products. One pool for both: OpenBLAS's
// own workers spin between products and slowed every pass that shared their core
// (docs/performance.md). Done once, before the first product.
void pin_openblas_to_one_thread() {
    static const bool pinned = [] {
        openblas_set_num_threads(1);
        return true;
    }();
    (void)pinned;
}

// Below this many multiply-adds (m n k) a product runs on one thread: smaller ones
// cost more to split than they gain (the measurements: docs/performance.md,
// "Numbers behind the code").
constexpr double one_thread_below = 0.15e6;

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

std::vector<GemmShape>* recorded_shapes = nullptr;  // record_gemm_shapes()

}  // namespace

void record_gemm_shapes(std::vector<GemmShape>* into) { recorded_shapes = into; }

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
    if (m == 0 || n == 0) return;
    if (recorded_shapes) recorded_shapes->push_back({trans_a, trans_b, m, n, k, beta != 0.0f});
    pin_openblas_to_one_thread();
    if (num_threads() < 2 || static_cast<double>(m) * n * k < one_thread_below) {
        gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    // Products on disjoint parts of C: its columns (and B's) when C is at least as
    // wide as tall, else its rows (and A's). Each piece packs only its share of the
    // operand it cuts.
    const std::size_t rows = static_cast<std::size_t>(m), cols = static_cast<std::size_t>(n);
    if (n >= m) {
        parallel_for(cols, 16, [&](std::size_t from, std::size_t to, std::size_t) {
            if (from == to) return;
            const float* bp = trans_b ? b + from * static_cast<std::size_t>(ldb) : b + from;
            gemm(trans_a, trans_b, m, static_cast<int>(to - from), k, alpha, a, lda, bp, ldb, beta, c + from, ldc);
        });
    } else {
        parallel_for(rows, 16, [&](std::size_t from, std::size_t to, std::size_t) {
            if (from == to) return;
            const float* ap = trans_a ? a + from : a + from * static_cast<std::size_t>(lda);
            gemm(trans_a, trans_b, static_cast<int>(to - from), n, k, alpha, ap, lda, b, ldb, beta,
                 c + from * static_cast<std::size_t>(ldc), ldc);
        });
    }
}

namespace {
int to_int(std::size_t v) { return static_cast<int>(v); }
}  // namespace

void matmul(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n, bool accumulate) {
    sgemm(false, false, to_int(m), to_int(n), to_int(k), 1.0f, a, to_int(k), b, to_int(n), accumulate ? 1.0f : 0.0f, c,
          to_int(n));
}

void matmul_bt(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n, bool accumulate) {
    sgemm(false, true, to_int(m), to_int(n), to_int(k), 1.0f, a, to_int(k), b, to_int(k), accumulate ? 1.0f : 0.0f, c,
          to_int(n));
}

void matmul_at(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n, bool accumulate) {
    sgemm(true, false, to_int(m), to_int(n), to_int(k), 1.0f, a, to_int(m), b, to_int(n), accumulate ? 1.0f : 0.0f, c,
          to_int(n));
}

void batched_matmul(const float* a, std::span<const std::size_t> ia, const float* b, std::span<const std::size_t> ib,
                    float* c, std::span<const std::size_t> ic, std::size_t c_count, const BatchedProducts& d) {
    const std::size_t a_size = d.m * d.k, b_size = d.k * d.n, c_size = d.m * d.n;
    const BatchRecording recording({d}, ic.size(), c_count);
    // The products of each c matrix, in order.
    std::vector<std::vector<std::size_t>> into(c_count);
    for (std::size_t i = 0; i < ic.size(); ++i) into[ic[i]].push_back(i);
    const int m = to_int(d.m), n = to_int(d.n), k = to_int(d.k);
    const int lda = d.trans_a ? m : k, ldb = d.trans_b ? k : n;
    auto products_into = [&](std::size_t from, std::size_t to) {
        for (std::size_t j = from; j < to; ++j) {
            float* cj = c + j * c_size;
            if (into[j].empty()) std::fill(cj, cj + c_size, 0.0f);
            bool first = true;
            for (std::size_t i : into[j]) {
                sgemm(d.trans_a, d.trans_b, m, n, k, 1.0f, a + ia[i] * a_size, lda, b + ib[i] * b_size, ldb,
                      first ? 0.0f : 1.0f, cj, n);
                first = false;
            }
        }
    };
    if (c_count == 1)
        products_into(0, 1);  // one c matrix: each product is split over the pool as any product is
    else
        parallel_for(c_count, 1, [&](std::size_t from, std::size_t to, std::size_t) { products_into(from, to); }, 1);
}

BatchRecording::BatchRecording(std::initializer_list<BatchedProducts> kinds, std::size_t products, std::size_t c_count)
    : paused_(recorded_shapes) {
    if (!paused_) return;
    for (const BatchedProducts& d : kinds)
        paused_->push_back({d.trans_a, d.trans_b, to_int(d.m), to_int(d.n), to_int(d.k), false, products,
                            c_count ? c_count : products});
    recorded_shapes = nullptr;
}
BatchRecording::~BatchRecording() { recorded_shapes = paused_; }

void transpose(int rows, int cols, const float* a, float* b) {
    if (rows == 0 || cols == 0) return;
    cblas_somatcopy(CblasRowMajor, CblasTrans, rows, cols, 1.0f, a, cols, b, rows);
}

void openblas_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                    const float* b, int ldb, float beta, float* c, int ldc) {
    pin_openblas_to_one_thread();  // first, so that it cannot undo what follows
    openblas_set_num_threads(num_threads());
    gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    openblas_set_num_threads(1);
}

std::string core_name() { return openblas_get_corename(); }

std::string kernel_advice() {
    const std::string core = core_name();
    if (!__builtin_cpu_supports("avx512f") || core.find("kylake") != std::string::npos ||
        core.find("ooper") != std::string::npos)  // SkylakeX and Cooperlake are OpenBLAS's AVX-512 kernels
        return "";
    const char* pinned = std::getenv("OPENBLAS_CORETYPE");
    return "OpenBLAS runs its " + core + " kernels on this AVX-512 CPU" +
           (pinned ? std::string(" (OPENBLAS_CORETYPE=") + pinned + " in the environment)" : std::string()) +
           "; OPENBLAS_CORETYPE=SkylakeX gives about twice the matrix-product speed";
}

}  // namespace tapegrad::kernels
