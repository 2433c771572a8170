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

// b = a^T: a is [rows, cols], b becomes [cols, rows] (both contiguous, row-major).
void transpose(int rows, int cols, const float* a, float* b);

// The same product as OpenBLAS alone computes it, on its own thread pool of
// num_threads() threads: the baseline that bench/micro compares sgemm against. It
// sets OpenBLAS's global thread count for the call: not for use while other
// threads compute products.
void openblas_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                    const float* b, int ldb, float beta, float* c, int ldc);

// Threads for products and the passes between them (set once at start-up, before
// other threads compute; by default the number OpenBLAS would use). With two or more, a large product is
// cut into that many pieces computed at once (parallel.hpp); OpenBLAS itself stays
// on one thread.
void set_num_threads(int n);
int num_threads();

// The kernel family OpenBLAS uses ("Haswell", "SkylakeX", ...): its own choice at
// load time, or the one the environment variable OPENBLAS_CORETYPE pins. Pinning
// an AVX-512 CPU to the AVX2 ("Haswell") kernels halves the speed of the large
// products here (docs/performance.md).
std::string core_name();
// A sentence to print when the kernels in use are slower than this CPU allows ("" otherwise).
std::string kernel_advice();

}  // namespace tapegrad::blas
