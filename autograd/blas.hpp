// The one door to BLAS (OpenBLAS's cblas_sgemm), on row-major float data.
// Kept free of xtensor and of <cblas.h>, whose CBLAS_ORDER enum clashes with
// xtensor-blas's (see docs/performance.md).
#pragma once

namespace tapegrad::blas {

// C[m, n] = alpha * op(A) op(B) + beta * C, row-major; op(X) = X or X^T.
// lda/ldb/ldc are the row strides of A, B, C as stored.
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

// OpenBLAS's thread pool size (set once at start-up; 2 cores -> 1 or 2).
void set_num_threads(int n);
int num_threads();

}  // namespace tapegrad::blas
