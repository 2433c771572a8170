// Matrix products on row-major float buffers: OpenBLAS's cblas_sgemm, with large
// products cut into pieces computed at once on the pool's threads (parallel.hpp).
// Kept free of xtensor and of <cblas.h>, whose CBLAS_ORDER enum clashes with
// xtensor-blas's (TOOLCHAIN notes in docs/performance.md).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace tapegrad::kernels {

// C[m, n] = alpha * op(A) op(B) + beta * C, row-major; op(X) = X or X^T.
// lda/ldb/ldc are the row strides of A, B, C as stored.
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

// The three products of a layer, on contiguous row-major matrices; with
// `accumulate` the product is added to c instead of overwriting it.
// c [m, n] = a [m, k] b [k, n]
void matmul(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n,
            bool accumulate = false);
// c [m, n] = a [m, k] b^T, b stored as [n, k] (a weight in PyTorch's [out, in] layout)
void matmul_bt(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n,
               bool accumulate = false);
// c [m, n] = a^T b [k, n], a stored as [k, m] (a weight gradient: activations^T times gradients)
void matmul_at(const float* a, const float* b, float* c, std::size_t m, std::size_t k, std::size_t n,
               bool accumulate = false);

// A batch of products: product i is a[ia[i]] b[ib[i]], with a's matrices [m, k]
// (stored [k, m] and read transposed when trans_a), b's [k, n] (stored [n, k] when
// trans_b), all contiguous and numbered by their offset; product i goes to
// c[ic[i]] ([m, n]), and products with the same ic are summed in the order of i.
// c's matrices that no product reaches are zeroed; there are c_count of them.
// Used by batched matmul and its gradients, where a broadcast operand's gradient
// sums the products of every batch it was broadcast to. The pool's threads take
// the c matrices in pieces (a single one: the products split as any product).
struct BatchedProducts {
    std::size_t m = 0, k = 0, n = 0;
    bool trans_a = false, trans_b = false;
};
void batched_matmul(const float* a, std::span<const std::size_t> ia, const float* b, std::span<const std::size_t> ib,
                    float* c, std::span<const std::size_t> ic, std::size_t c_count, const BatchedProducts& dims);

// b = a^T: a is [rows, cols], b becomes [cols, rows] (both contiguous, row-major).
void transpose(int rows, int cols, const float* a, float* b);

// The same product as OpenBLAS alone computes it, on its own thread pool of
// num_threads() threads (parallel.hpp): the baseline that bench/micro compares
// sgemm against. It sets OpenBLAS's global thread count for the call: not for use
// while other threads compute products.
void openblas_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                    const float* b, int ldb, float beta, float* c, int ldc);

// The shape of one sgemm call, recorded for benchmarks: bench/vae_step replays a
// training step's products alone to measure the step's GEMM-only floor.
struct GemmShape {
    bool trans_a = false, trans_b = false;
    int m = 0, n = 0, k = 0;
    bool accumulate = false;      // beta != 0
    std::size_t products = 1;     // > 1: one batched_matmul call of this many products
    std::size_t c_count = 1;      // ... into this many c matrices
};
// While `into` is set, every sgemm and batched_matmul call appends its shape there
// (the pieces a product is cut into for the pool, and a batch's products, are not
// separate calls); nullptr stops it.
// Not for use while products run.
void record_gemm_shapes(std::vector<GemmShape>* into);

// For a batch of products made by sgemm calls (batched_matmul, kernels/attention):
// while alive, each kind of product in `kinds` is recorded once for the batch,
// `products` products into `c_count` c matrices (as many, by default), and the
// calls themselves are not.
class BatchRecording {
public:
    BatchRecording(std::initializer_list<BatchedProducts> kinds, std::size_t products, std::size_t c_count = 0);
    ~BatchRecording();
    BatchRecording(const BatchRecording&) = delete;
    BatchRecording& operator=(const BatchRecording&) = delete;

private:
    std::vector<GemmShape>* paused_;
};

// The kernel family OpenBLAS uses ("Haswell", "SkylakeX", ...): its own choice at
// load time, or the one the environment variable OPENBLAS_CORETYPE pins. Pinning
// an AVX-512 CPU to the AVX2 ("Haswell") kernels halves the speed of the large
// products here (docs/performance.md).
std::string core_name();
// A sentence to print when the kernels in use are slower than this CPU allows ("" otherwise).
std::string kernel_advice();

}  // namespace tapegrad::kernels
