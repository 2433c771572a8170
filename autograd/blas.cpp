// Only this file includes <cblas.h>.
#include "autograd/blas.hpp"

#include <cblas.h>

#include <cstdlib>

namespace tapegrad::blas {

namespace {

int pool_threads = 0;  // what set_num_threads asked for (0: OpenBLAS's own default)

// Below this many multiply-adds (m n k) a product runs on one thread. Measured
// here with OpenBLAS 0.3.21 on 2 cores (bench: the image VAE's 20- and 40-wide
// layers, a GRU step with few sequences left): handing half of such a product to
// the second thread costs more than it saves, e.g. 128x400x40 takes 40 us on one
// thread and 63 on two, 12x768x256 72 against 119; from 16x768x256 (3.1 M) on,
// two threads win (92 against 63 us). OpenBLAS's own cut-off is 0.26 M.
constexpr double one_thread_below = 3.0e6;

}  // namespace

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
    if (m == 0 || n == 0) return;
    if (pool_threads == 0) pool_threads = openblas_get_num_threads();
    const bool narrow = pool_threads > 1 && static_cast<double>(m) * n * k < one_thread_below;
    if (narrow) openblas_set_num_threads(1);  // cheap: the pool stays, only the count changes
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
    if (narrow) openblas_set_num_threads(pool_threads);
}

void set_num_threads(int n) {
    openblas_set_num_threads(n);
    pool_threads = n;
}
int num_threads() { return openblas_get_num_threads(); }

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

}  // namespace tapegrad::blas
