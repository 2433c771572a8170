// gather, take_rows, put_rows, where, dropout. Row copies and their scatter-add are
// kernels/copy.hpp.
#include "autograd/ops/index.hpp"

#include <memory>
#include <vector>

#include "autograd/kernels/copy.hpp"
#include "autograd/kernels/simd.hpp"
#include "autograd/ops/detail.hpp"
#include "autograd/random.hpp"

namespace tapegrad::autograd {

// y[s] = T[ids[s]]          dT[v] = sum over s with ids[s] = v of g[s]
Tensor gather(const Tensor& table, const Indices& ids, std::int64_t no_grad_id) {
    const Array& T = table.value();
    if (T.dimension() < 1) throw Error("gather: the table must have at least one axis, got a 0-d tensor");
    const std::size_t V = T.shape()[0], D = V ? T.size() / V : 0;
    detail::check_ids("gather", "id", ids, V, "a table of " + std::to_string(V) + " rows (shape " + shape_str(T.shape()) + ")");
    Shape out = shape_of(ids);
    for (std::size_t a = 1; a < T.dimension(); ++a) out.push_back(T.shape()[a]);
    Array y = Array::from_shape(out);
    kernels::gather_rows(T.data(), D, ids.data(), ids.size(), y.data());
    return record("gather", std::move(y), {table}, reads_nothing, [ids, no_grad_id, V, D](Step& s) -> Grads {
        Array dt = Array::from_shape(s.input_shape(0));
        kernels::scatter_add_rows(s.grad.data(), D, ids.data(), ids.size(), no_grad_id, V, dt.data());
        return {std::move(dt)};
    });
}

// y[k] = x[rows[k]]       dx[r] = sum over k with rows[k] = r of g[k]
Tensor take_rows(const Tensor& x, const Indices& rows) {
    const Array& X = x.value();
    if (X.dimension() < 2 || rows.dimension() != 1)
        throw Error("take_rows: needs x with at least 2 axes and 1-D row ids, got " + shape_str(X.shape()) + " and " +
                    shape_str(rows.shape()));
    const std::size_t D = X.shape()[X.dimension() - 1], R = X.size() / D;
    detail::check_ids("take_rows", "row", rows, R, std::to_string(R) + " rows (shape " + shape_str(X.shape()) + ")");
    Array y = Array::from_shape({rows.size(), D});
    kernels::gather_rows(X.data(), D, rows.data(), rows.size(), y.data());
    return record("take_rows", std::move(y), {x}, reads_nothing, [rows, D, R](Step& s) -> Grads {
        Array dx = Array::from_shape(s.input_shape(0));
        kernels::scatter_add_rows(s.grad.data(), D, rows.data(), rows.size(), -1, R, dx.data());
        return {std::move(dx)};
    });
}

// y = 0; y[rows[k]] += x[k]     dx[k] = g[rows[k]]
Tensor put_rows(const Tensor& x, const Indices& rows, std::size_t count) { return put_rows(x, rows, Shape{count}); }

Tensor put_rows(const Tensor& x, const Indices& rows, const Shape& lead) {
    const Array& X = x.value();
    if (X.dimension() != 2 || rows.dimension() != 1 || rows.size() != X.shape()[0])
        throw Error("put_rows: needs x [N, D] and N row ids, got " + shape_str(X.shape()) + " and " + shape_str(rows.shape()));
    const std::size_t D = X.shape()[1];
    std::size_t count = 1;
    for (std::size_t n : lead) count *= n;
    detail::check_ids("put_rows", "row", rows, count, std::to_string(count) + " rows");
    Shape out = lead;
    out.push_back(D);
    Array y = Array::from_shape(out);
    kernels::scatter_add_rows(X.data(), D, rows.data(), rows.size(), -1, count, y.data());
    return record("put_rows", std::move(y), {x}, reads_nothing, [rows, D](Step& s) -> Grads {
        Array dx = Array::from_shape({rows.size(), D});
        kernels::gather_rows(s.grad.data(), D, rows.data(), rows.size(), dx.data());
        return {std::move(dx)};
    });
}

// y = c ? a : b             da = c ? g : 0          db = c ? 0 : g
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
    const Shape ab = detail::broadcast_shapes(a.shape(), b.shape(), "where");
    detail::broadcast_shapes(condition.shape(), ab, "where (condition)");
    return record("where", Array(xt::where(xt::not_equal(condition.value(), 0.0f), a.value(), b.value())), {condition, a, b},
                  reads_input(0), [](Step& s) -> Grads {
                      const Array& c = s.input(0);
                      Grads g(s);  // the condition gets none
                      if (s.needs_grad(1)) g[1] = xt::where(xt::not_equal(c, 0.0f), s.grad, 0.0f);
                      if (s.needs_grad(2)) g[2] = xt::where(xt::not_equal(c, 0.0f), 0.0f, s.grad);
                      return g;
                  });
}

// y = a * m                 da = g * m
Tensor dropout(const Tensor& a, const Array& mask) {
    if (mask.shape() != a.value().shape())
        detail::broadcast_shapes(a.shape(), shape_of(mask), "dropout (mask)");
    return record("dropout", a.value() * mask, {a}, reads_nothing, [mask](Step& s) -> Grads { return {s.grad * mask}; });
}

namespace {
void check_dropout_probability(float p) {
    if (!(p >= 0.0f && p < 1.0f)) throw Error("dropout: probability " + std::to_string(p) + " must lie in [0, 1)");
}
}  // namespace

Array dropout_mask(const Shape& shape, float p) {
    check_dropout_probability(p);
    Array m = Array::from_shape(shape);
    fill_bernoulli(m.data(), shape, p, 0.0f, 1.0f / (1.0f - p));  // dropped with probability p, the rest scaled
    return m;
}

// The same as dropout(a, dropout_mask(a.shape(), p)), with the mask kept as one
// byte per element instead of a float: a quarter of the memory until the sweep.
Tensor dropout(const Tensor& a, float p) {
    if (p == 0.0f) return a;
    check_dropout_probability(p);
    const std::size_t n = a.size();
    const float scale = 1.0f / (1.0f - p);
    // Every byte is drawn next, so the buffer is left uninitialised (a vector would zero it first).
    std::shared_ptr<std::uint8_t[]> keep(new std::uint8_t[n]);
    fill_bernoulli(keep.get(), a.shape(), p, 0, 1);  // the draws of dropout_mask
    Array y = Array::from_shape(a.shape());
    kernels::scale_kept(a.value().data(), keep.get(), scale, y.data(), n);
    return record("dropout", std::move(y), {a}, reads_nothing, [keep, scale, n](Step& s) -> Grads {
        Array dx = Array::from_shape(s.grad.shape());
        kernels::scale_kept(s.grad.data(), keep.get(), scale, dx.data(), n);
        return {std::move(dx)};
    });
}

}  // namespace tapegrad::autograd
