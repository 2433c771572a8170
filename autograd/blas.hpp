// The one door to BLAS (OpenBLAS's cblas_sgemm), on row-major float data.
// Kept free of xtensor and of <cblas.h>, whose CBLAS_ORDER enum clashes with
// xtensor-blas's (see docs/performance.md).
#pragma once

#include <string>

namespace tapegrad::blas {

// C[m, n] = alpha * op(A) op(B) + beta * C, row-major; op(X) = X or X^T.
// lda/ldb/ldc are the row strides of A, B, C as stored.
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

// OpenBLAS's thread pool size (set once at start-up; 2 cores -> 1 or 2).
void set_num_threads(int n);
int num_threads();

// The kernel family OpenBLAS picked at load time ("Haswell", "SkylakeX", ...).
// OpenBLAS 0.3.21 does not recognise some AVX-512 CPUs (virtual machines report
// generic models) and falls back to its AVX2 kernels, about half as fast on these
// products; OPENBLAS_CORETYPE=SkylakeX set before start-up overrides that.
std::string core_name();
// A sentence to print when the kernels in use are slower than this CPU allows ("" otherwise).
std::string kernel_advice();

}  // namespace tapegrad::blas
