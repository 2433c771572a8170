// Matrix products: matmul and linear, on the tensors' row-major buffers with no
// copies (the products themselves are kernels/blas.hpp).
#include "autograd/ops/linalg.hpp"

#include "autograd/kernels/blas.hpp"
#include "autograd/kernels/copy.hpp"
#include "autograd/kernels/reduce.hpp"
#include "autograd/ops/detail.hpp"

namespace tapegrad::autograd {

namespace {

// For every batch of the broadcast shape `out` (numbered row-major), the batch of
// `in` it reads (numpy broadcasting: `in` aligned to the right, axes of length 1
// repeated).
std::vector<std::size_t> batch_of(const Shape& in, const Shape& out) {
    std::size_t count = 1;
    for (auto d : out) count *= d;
    std::vector<std::size_t> index(count);
    const std::size_t lead = out.size() - in.size();
    for (std::size_t i = 0; i < count; ++i) {
        std::size_t rest = i, at = 0, stride = 1;
        for (std::size_t ax = out.size(); ax-- > 0;) {
            const std::size_t coordinate = rest % out[ax];
            rest /= out[ax];
            if (ax >= lead) {
                const std::size_t d = in[ax - lead];
                at += (d == 1 ? 0 : coordinate) * stride;
                stride *= d;
            }
        }
        index[i] = at;
    }
    return index;
}

Tensor batched_product(const char* op, const Tensor& a, const Tensor& b, bool b_transposed);

std::vector<std::size_t> identity(std::size_t n) {
    std::vector<std::size_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = i;
    return v;
}

}  // namespace

// y = a b            da = g b^T          db = a^T g
// (each over the last two axes; the axes before them are batches, broadcast as in
// numpy's matmul, and a broadcast operand's gradient sums over its copies)
Tensor matmul(const Tensor& a, const Tensor& b) {
    const Shape as = a.shape(), bs = b.shape();
    if (as.size() < 2 || bs.size() < 2 || as.back() != bs[bs.size() - 2])
        throw Error("matmul: shapes " + shape_str(as) + " and " + shape_str(bs) +
                    " do not fit ([..., M, K] times [..., K, N])");
    const std::size_t K = as.back(), N = bs.back();
    if (bs.size() == 2) {  // one product on a's rows, whatever a's batch axes
        const std::size_t rows = a.size() / K;
        Shape out = as;
        out.back() = N;
        Array y = Array::from_shape(out);
        kernels::matmul(a.value().data(), b.value().data(), y.data(), rows, K, N);
        return record("matmul", std::move(y), {a, b}, reads_for_product(a, b), [rows, N, K](Step& s) -> Grads {
            Grads g(s);
            if (s.needs_grad(0)) {
                g[0] = Array::from_shape(s.input_shape(0));
                kernels::matmul_bt(s.grad.data(), s.input(1).data(), g[0]->data(), rows, N, K);
            }
            if (s.needs_grad(1)) {
                g[1] = Array::from_shape({K, N});
                kernels::matmul_at(s.input(0).data(), s.grad.data(), g[1]->data(), K, rows, N);
            }
            return g;
        });
    }
    return batched_product("matmul", a, b, false);
}

// y = a b^T          da = g b            db = g^T a
Tensor matmul_transposed(const Tensor& a, const Tensor& b) {
    const Shape as = a.shape(), bs = b.shape();
    if (as.size() < 2 || bs.size() < 2 || as.back() != bs.back())
        throw Error("matmul_transposed: shapes " + shape_str(as) + " and " + shape_str(bs) +
                    " do not fit ([..., M, K] times [..., N, K] transposed)");
    return batched_product("matmul_transposed", a, b, true);
}

namespace {

// The products of matmul (b_transposed false: b's matrices [K, N]) and of
// matmul_transposed (true: b's matrices [N, K], read transposed), batch by batch.
Tensor batched_product(const char* op, const Tensor& a, const Tensor& b, bool b_transposed) {
    const Shape as = a.shape(), bs = b.shape();
    const std::size_t M = as[as.size() - 2], K = as.back(), N = b_transposed ? bs[bs.size() - 2] : bs.back();
    const Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
    const Shape batch = detail::broadcast_shapes(a_batch, b_batch, op);
    const std::vector<std::size_t> ia = batch_of(a_batch, batch), ib = batch_of(b_batch, batch), ic = identity(ia.size());
    Shape out = batch;
    out.push_back(M);
    out.push_back(N);
    Array y = Array::from_shape(out);
    kernels::batched_matmul(a.value().data(), ia, b.value().data(), ib, y.data(), ic, ic.size(),
                            {.m = M, .k = K, .n = N, .trans_b = b_transposed});
    const std::size_t a_count = a.size() / (M * K), b_count = b.size() / (K * N);
    return record(op, std::move(y), {a, b}, reads_for_product(a, b),
                  [ia, ib, ic, M, K, N, b_transposed, a_count, b_count, as, bs](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) {  // da[ia[i]] += g[i] b[ib[i]]^T  (matmul_transposed: g[i] b[ib[i]])
            g[0] = Array::from_shape(as);
            kernels::batched_matmul(s.grad.data(), ic, s.input(1).data(), ib, g[0]->data(), ia, a_count,
                                    {.m = M, .k = N, .n = K, .trans_b = !b_transposed});
        }
        if (s.needs_grad(1)) {
            g[1] = Array::from_shape(bs);
            if (b_transposed)  // db[ib[i]] += g[i]^T a[ia[i]]
                kernels::batched_matmul(s.grad.data(), ic, s.input(0).data(), ia, g[1]->data(), ib, b_count,
                                        {.m = N, .k = M, .n = K, .trans_a = true});
            else  // db[ib[i]] += a[ia[i]]^T g[i]
                kernels::batched_matmul(s.input(0).data(), ia, s.grad.data(), ic, g[1]->data(), ib, b_count,
                                        {.m = K, .k = M, .n = N, .trans_a = true});
        }
        return g;
    });
}

}  // namespace

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
    return record("linear", std::move(y), inputs, reads_for_product(x, weight), [rows, in_f, out_f](Step& s) -> Grads {
        Grads g(s);
        if (s.needs_grad(0)) {
            g[0] = Array::from_shape(s.input_shape(0));
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
