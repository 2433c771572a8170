// Matrix products: matmul and linear, on the tensors' row-major buffers with no
// copies (the products themselves are kernels/blas.hpp).
#include "autograd/ops/linalg.hpp"

#include "autograd/kernels/blas.hpp"
#include "autograd/kernels/copy.hpp"
#include "autograd/kernels/reduce.hpp"
#include "autograd/tape.hpp"

namespace tapegrad::autograd {

// y = a b            da = g b^T          db = a^T g
// (a batched [B, M, K] is the same product on its [B*M, K] rows.)
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
    kernels::matmul(A.data(), B.data(), y.data(), M, K, N);
    return record("matmul", std::move(y), {a, b}, [M, N, K](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) {
            g[0] = Array::from_shape(s.input(0).shape());
            kernels::matmul_bt(s.grad.data(), s.input(1).data(), g[0]->data(), M, N, K);
        }
        if (s.needs_grad(1)) {
            g[1] = Array::from_shape({K, N});
            kernels::matmul_at(s.input(0).data(), s.grad.data(), g[1]->data(), K, M, N);
        }
        return g;
    });
}

// y = x W^T + b      dx = g W      dW = g^T x      db = sum over rows of g
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    const Array& X = x.value();
    const Array& W = weight.value();
    if (W.dimension() != 2 || X.dimension() < 1 || X.shape()[X.dimension() - 1] != W.shape()[1])
        throw Error("linear: input " + shape_str(X.shape()) + " does not fit weight " + shape_str(W.shape()) +
                    " ([..., in] with weight [out, in])");
    const std::size_t out_f = W.shape()[0], in_f = W.shape()[1], rows = X.size() / in_f;
    if (bias.defined() && (bias.ndim() != 1 || bias.shape()[0] != out_f))
        throw Error("linear: bias " + shape_str(bias.shape()) + " does not fit weight " + shape_str(W.shape()) +
                    " (expected [" + std::to_string(out_f) + "])");
    Shape out = shape_of(X);
    out.back() = out_f;
    Array y = Array::from_shape(out);
    if (bias.defined()) kernels::repeat_row(bias.value().data(), rows, out_f, y.data());
    kernels::matmul_bt(X.data(), W.data(), y.data(), rows, in_f, out_f, /*accumulate=*/bias.defined());
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    return record("linear", std::move(y), inputs, [rows, in_f, out_f](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) {
            g[0] = Array::from_shape(s.input(0).shape());
            kernels::matmul(s.grad.data(), s.input(1).data(), g[0]->data(), rows, out_f, in_f);
        }
        if (s.needs_grad(1)) {
            g[1] = Array::from_shape({out_f, in_f});
            kernels::matmul_at(s.grad.data(), s.input(0).data(), g[1]->data(), out_f, rows, in_f);
        }
        if (s.num_inputs() == 3 && s.needs_grad(2)) {
            g[2] = Array::from_shape({out_f});
            kernels::sum_axis(s.grad.data(), {1, rows, out_f}, g[2]->data());
        }
        return g;
    });
}

}  // namespace tapegrad::autograd
