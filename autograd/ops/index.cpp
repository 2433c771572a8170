#include "autograd/ops/index.hpp"

#include <cstring>

#include "autograd/kernels.hpp"
#include "autograd/ops/detail.hpp"
#include "autograd/parallel.hpp"
#include "autograd/random.hpp"

namespace tapegrad::autograd {

// y[s] = T[ids[s]]          dT[v] = sum over s with ids[s] = v of g[s]
Tensor gather(const Tensor& table, const Indices& ids, std::int64_t no_grad_id) {
    const Array& T = table.value();
    if (T.dimension() < 1) throw Error("gather: the table must have at least one axis, got a 0-d tensor");
    const std::size_t V = T.shape()[0], D = V ? T.size() / V : 0;
    for (std::size_t k = 0; k < ids.size(); ++k) {
        const std::int64_t id = ids.data()[k];
        if (id < 0 || static_cast<std::size_t>(id) >= V)
            throw Error("gather: id " + std::to_string(id) + " at position " + std::to_string(k) +
                        " is out of range for a table of " + std::to_string(V) + " rows (shape " +
                        shape_str(T.shape()) + ")");
    }
    Shape out = shape_of(ids);
    for (std::size_t a = 1; a < T.dimension(); ++a) out.push_back(T.shape()[a]);
    Array y = Array::from_shape(out);
    for (std::size_t k = 0; k < ids.size(); ++k)
        std::memcpy(y.data() + k * D, T.data() + static_cast<std::size_t>(ids.data()[k]) * D, D * sizeof(float));
    return record("gather", std::move(y), {table}, [ids, no_grad_id, V, D](Step& s) -> Grads {
        // The table's gradient is dense (a 10k-word embedding: 12 MB to zero each
        // step), so the pool's threads take ranges of its rows: each zeroes its rows
        // and adds the ids that fall in them, in order, as one thread would.
        Array dt = Array::from_shape(shape_of(s.input(0)));
        parallel::parallel_for(V, 256, [&](std::size_t begin, std::size_t end, std::size_t) {
            std::memset(dt.data() + begin * D, 0, (end - begin) * D * sizeof(float));
            for (std::size_t k = 0; k < ids.size(); ++k) {
                const std::int64_t id = ids.data()[k];
                if (id != no_grad_id && static_cast<std::size_t>(id) >= begin && static_cast<std::size_t>(id) < end)
                    kernels::axpy(1.0f, s.grad.data() + k * D, dt.data() + static_cast<std::size_t>(id) * D, D);
            }
        });
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
    for (std::size_t k = 0; k < rows.size(); ++k)
        if (rows(k) < 0 || static_cast<std::size_t>(rows(k)) >= R)
            throw Error("take_rows: row " + std::to_string(rows(k)) + " at position " + std::to_string(k) +
                        " is out of range for " + std::to_string(R) + " rows (shape " + shape_str(X.shape()) + ")");
    Array y = Array::from_shape({rows.size(), D});
    for (std::size_t k = 0; k < rows.size(); ++k)
        std::memcpy(y.data() + k * D, X.data() + static_cast<std::size_t>(rows(k)) * D, D * sizeof(float));
    return record("take_rows", std::move(y), {x}, [rows, D](Step& s) -> Grads {
        Array dx = zeros(shape_of(s.input(0)));
        for (std::size_t k = 0; k < rows.size(); ++k)
            kernels::axpy(1.0f, s.grad.data() + k * D, dx.data() + static_cast<std::size_t>(rows(k)) * D, D);
        return {std::move(dx)};
    });
}

// y = c ? a : b             da = c ? g : 0          db = c ? 0 : g
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
    const Shape ab = detail::broadcast_shapes(a.shape(), b.shape(), "where");
    detail::broadcast_shapes(condition.shape(), ab, "where (condition)");
    return record("where", Array(xt::where(xt::not_equal(condition.value(), 0.0f), a.value(), b.value())), {condition, a, b},
                  [](Step& s) -> Grads {
                      const Array& c = s.input(0);
                      return {none, xt::where(xt::not_equal(c, 0.0f), s.grad, 0.0f), xt::where(xt::not_equal(c, 0.0f), 0.0f, s.grad)};
                  });
}

// y = a * m                 da = g * m
Tensor dropout(const Tensor& a, const Array& mask) {
    if (mask.shape() != a.value().shape())
        detail::broadcast_shapes(a.shape(), shape_of(mask), "dropout (mask)");
    return record("dropout", a.value() * mask, {a}, [mask](Step& s) -> Grads { return {s.grad * mask}; });
}

Array dropout_mask(const Shape& shape, float p) {
    if (!(p >= 0.0f && p < 1.0f))
        throw Error("dropout: probability " + std::to_string(p) + " must lie in [0, 1)");
    Array m = Array::from_shape(shape);
    fill_bernoulli(m.data(), m.size(), p, 0.0f, 1.0f / (1.0f - p));  // dropped with probability p, the rest scaled
    return m;
}

Tensor dropout(const Tensor& a, float p) {
    if (p == 0.0f) return a;
    return dropout(a, dropout_mask(a.shape(), p));
}

}  // namespace tapegrad::autograd
