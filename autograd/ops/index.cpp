#include "autograd/ops/index.hpp"

#include <cstring>

#include "autograd/kernels.hpp"
#include "autograd/ops/detail.hpp"
#include "autograd/random.hpp"

namespace tapegrad::autograd {

// y[s] = T[ids[s]]          dT[v] = sum over s with ids[s] = v of g[s]
Tensor gather(const Tensor& table, const Indices& ids, std::int64_t skip_id) {
    const Array& T = table.value();
    if (T.dimension() < 1) throw Error("gather: the table must have at least one axis, got a 0-d tensor");
    const std::size_t V = T.shape()[0], D = V ? T.size() / V : 0;
    for (std::size_t k = 0; k < ids.size(); ++k) {
        const std::int64_t id = ids.data()[k];
        if ((id < 0 || static_cast<std::size_t>(id) >= V) && id != skip_id)
            throw Error("gather: id " + std::to_string(id) + " at position " + std::to_string(k) +
                        " is out of range for a table of " + std::to_string(V) + " rows (shape " +
                        shape_str(T.shape()) + ")");
    }
    Shape out = shape_of(ids);
    for (std::size_t a = 1; a < T.dimension(); ++a) out.push_back(T.shape()[a]);
    Array y = Array::from_shape(out);
    for (std::size_t k = 0; k < ids.size(); ++k) {
        const std::int64_t id = ids.data()[k];
        if (id == skip_id)
            std::memset(y.data() + k * D, 0, D * sizeof(float));
        else
            std::memcpy(y.data() + k * D, T.data() + static_cast<std::size_t>(id) * D, D * sizeof(float));
    }
    return record("gather", std::move(y), {table}, [ids, skip_id, D](Step& s) -> Grads {
        Array dt = zeros(shape_of(s.input(0)));
        for (std::size_t k = 0; k < ids.size(); ++k) {
            const std::int64_t id = ids.data()[k];
            if (id != skip_id) kernels::axpy(1.0f, s.grad.data() + k * D, dt.data() + static_cast<std::size_t>(id) * D, D);
        }
        return {std::move(dt)};
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
    const float keep = 1.0f / (1.0f - p);
    Generator& g = generator();
    for (float& v : m) v = g.uniform() < p ? 0.0f : keep;
    return m;
}

Tensor dropout(const Tensor& a, float p) {
    if (p == 0.0f) return a;
    return dropout(a, dropout_mask(a.shape(), p));
}

}  // namespace tapegrad::autograd
