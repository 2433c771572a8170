// Only this file includes <cblas.h>.
#include "autograd/blas.hpp"

#include <cblas.h>

#include <cstdlib>

namespace tapegrad::blas {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

void set_num_threads(int n) { openblas_set_num_threads(n); }
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
