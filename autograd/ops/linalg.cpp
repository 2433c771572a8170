#include "autograd/ops/linalg.hpp"

#include "autograd/blas.hpp"
#include "autograd/kernels.hpp"
#include "autograd/ops/detail.hpp"

namespace tapegrad::autograd {

namespace {
int i(std::size_t v) { return static_cast<int>(v); }
}  // namespace

void add_column_sums(const float* g, std::size_t rows, std::size_t cols, float* out) {
    for (std::size_t r = 0; r < rows; ++r) kernels::axpy(1.0f, g + r * cols, out, cols);
}

// y = a b            da = g b^T          db = a^T g
// (a batched [B, M, K] is the same GEMM on its [B*M, K] rows.)
Tensor matmul(const Tensor& a, const Tensor& b) {
    const Array& A = a.value();
    const Array& B = b.value();
    const bool shapes_ok = (A.dimension() == 2 || A.dimension() == 3) && B.dimension() == 2 &&
                           A.shape()[A.dimension() - 1] == B.shape()[0];
    if (!shapes_ok)
        throw Error("matmul: shapes " + shape_str(A.shape()) + " and " + shape_str(B.shape()) +
                    " do not fit ([M, K] or [B, M, K] times [K, N])");
    const std::size_t K = B.shape()[0], N = B.shape()[1], M = A.size() / K;
    Shape out = shape_of(A);
    out.back() = N;
    Array y = Array::from_shape(out);
    blas::sgemm(false, false, i(M), i(N), i(K), 1.0f, A.data(), i(K), B.data(), i(N), 0.0f, y.data(), i(N));
    return record("matmul", std::move(y), {a, b}, [M, N, K](Step& s) -> Grads {
        Grads g;
        if (s.needs_grad(0)) {
            Array da = Array::from_shape(s.input(0).shape());
            blas::sgemm(false, true, i(M), i(K), i(N), 1.0f, s.grad.data(), i(N), s.input(1).data(), i(N), 0.0f,
                        da.data(), i(K));
            g.add(std::move(da));
        } else {
            g.add(none);
        }
        if (s.needs_grad(1)) {
            Array db = Array::from_shape({K, N});
            blas::sgemm(true, false, i(K), i(N), i(M), 1.0f, s.input(0).data(), i(K), s.grad.data(), i(N), 0.0f,
                        db.data(), i(N));
            g.add(std::move(db));
        } else {
            g.add(none);
        }
        return g;
    });
}

// y = x W^T + b      dx = g W      dW = g^T x      db = sum over rows of g
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    const Array& X = x.value();
    const Array& W = weight.value();
    const bool has_bias = bias.defined();
    if (W.dimension() != 2 || X.dimension() < 1 || X.shape()[X.dimension() - 1] != W.shape()[1])
        throw Error("linear: input " + shape_str(X.shape()) + " does not fit weight " + shape_str(W.shape()) +
                    " ([..., in] with weight [out, in])");
    const std::size_t out_f = W.shape()[0], in_f = W.shape()[1], rows = X.size() / in_f;
    if (has_bias && (bias.ndim() != 1 || bias.value().shape()[0] != out_f))
        throw Error("linear: bias " + shape_str(bias.value().shape()) + " does not fit weight " +
                    shape_str(W.shape()) + " (expected [" + std::to_string(out_f) + "])");
    Shape out = shape_of(X);
    out.back() = out_f;
    Array y = Array::from_shape(out);
    float beta = 0.0f;
    if (has_bias) {
        const float* bp = bias.value().data();
        for (std::size_t r = 0; r < rows; ++r) std::copy(bp, bp + out_f, y.data() + r * out_f);
        beta = 1.0f;
    }
    blas::sgemm(false, true, i(rows), i(out_f), i(in_f), 1.0f, X.data(), i(in_f), W.data(), i(in_f), beta, y.data(),
                i(out_f));
    auto rule = [rows, in_f, out_f](Step& s) -> Grads {
        Grads g;
        if (s.needs_grad(0)) {
            Array dx = Array::from_shape(s.input(0).shape());
            blas::sgemm(false, false, i(rows), i(in_f), i(out_f), 1.0f, s.grad.data(), i(out_f), s.input(1).data(),
                        i(in_f), 0.0f, dx.data(), i(in_f));
            g.add(std::move(dx));
        } else {
            g.add(none);
        }
        if (s.needs_grad(1)) {
            Array dw = Array::from_shape({out_f, in_f});
            blas::sgemm(true, false, i(out_f), i(in_f), i(rows), 1.0f, s.grad.data(), i(out_f), s.input(0).data(),
                        i(in_f), 0.0f, dw.data(), i(in_f));
            g.add(std::move(dw));
        } else {
            g.add(none);
        }
        if (s.num_inputs() == 3) {
            if (s.needs_grad(2)) {
                Array db = zeros({out_f});
                add_column_sums(s.grad.data(), rows, out_f, db.data());
                g.add(std::move(db));
            } else {
                g.add(none);
            }
        }
        return g;
    };
    if (has_bias) return record("linear", std::move(y), {x, weight, bias}, std::move(rule));
    return record("linear", std::move(y), {x, weight}, std::move(rule));
}

}  // namespace tapegrad::autograd
