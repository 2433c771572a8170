// Shape ops. concat/slice/select share one idea: a contiguous array seen as
// [outer, n, inner] around the axis, whose blocks are copied with memcpy.
#include "autograd/ops/shape.hpp"

#include <cstring>
#include <numeric>

#include "autograd/ops/detail.hpp"

namespace tapegrad::autograd {

namespace {

using detail::AxisSplit;

// Copies dst[:, dst_off : dst_off + len, :] = src[:, src_off : src_off + len, :]
// for arrays split as [outer, n, inner] around the same axis.
void copy_block(const float* src, const AxisSplit& s, std::size_t src_off, float* dst, const AxisSplit& d,
                std::size_t dst_off, std::size_t len) {
    const std::size_t bytes = len * s.inner * sizeof(float);
    for (std::size_t o = 0; o < s.outer; ++o)
        std::memcpy(dst + (o * d.n + dst_off) * d.inner, src + (o * s.n + src_off) * s.inner, bytes);
}

Shape inverse(const std::vector<std::size_t>& perm) {
    Shape inv(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = i;
    return inv;
}

// Takes elements [start, start + len) along `axis`: the forward of slice/select.
Array take_range(const Array& x, std::size_t axis, std::size_t start, std::size_t len) {
    Shape out = shape_of(x);
    out[axis] = len;
    Array y = Array::from_shape(out);
    copy_block(x.data(), detail::split_at(shape_of(x), axis), start, y.data(), detail::split_at(out, axis), 0,
               len);
    return y;
}

// The gradient of take_range: zeros with g placed back at [start, start + len).
Array put_range(const Array& g, const Shape& in, std::size_t axis, std::size_t start, std::size_t len) {
    Array d = zeros(in);
    Shape gs = in;
    gs[axis] = len;
    copy_block(g.data(), detail::split_at(gs, axis), 0, d.data(), detail::split_at(in, axis), start, len);
    return d;
}

std::size_t resolve_index(long i, std::size_t n) {
    const long v = i < 0 ? i + static_cast<long>(n) : i;
    return static_cast<std::size_t>(std::clamp(v, 0L, static_cast<long>(n)));
}

}  // namespace

// y = a^T            da = g^T
Tensor transpose(const Tensor& a) {
    std::vector<std::size_t> perm(a.ndim());
    std::iota(perm.rbegin(), perm.rend(), 0);
    return transpose(a, perm);
}

// y = permute(a, p)  da = permute(g, p^-1)
Tensor transpose(const Tensor& a, const std::vector<std::size_t>& perm) {
    const std::size_t n = a.ndim();
    std::vector<bool> seen(n, false);
    bool ok = perm.size() == n;
    for (std::size_t p : perm) {
        ok = ok && p < n && !seen[p];
        if (p < n) seen[p] = true;
    }
    if (!ok) throw Error("transpose: " + shape_str(perm) + " is not a permutation of the axes of a tensor of shape " +
                         shape_str(a.value().shape()));
    return record("transpose", Array(xt::transpose(a.value(), perm)), {a}, [perm](Step& s) -> Grads {
        return {Array(xt::transpose(s.grad, inverse(perm)))};
    });
}

// y = a viewed with a new shape           da = g viewed with a's shape
Tensor reshape(const Tensor& a, const std::vector<long>& shape) {
    Shape out(shape.size());
    std::size_t known = 1;
    int infer = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (infer >= 0) throw Error("reshape: only one dimension can be -1, got " + shape_str(shape));
            infer = static_cast<int>(i);
        } else if (shape[i] < 0) {
            throw Error("reshape: negative dimension in " + shape_str(shape));
        } else {
            out[i] = static_cast<std::size_t>(shape[i]);
            known *= out[i];
        }
    }
    const std::size_t total = a.size();
    if (infer >= 0) {
        if (known == 0 || total % known != 0)
            throw Error("reshape: cannot reshape " + shape_str(a.value().shape()) + " into " + shape_str(shape));
        out[static_cast<std::size_t>(infer)] = total / known;
        known *= out[static_cast<std::size_t>(infer)];
    }
    if (known != total)
        throw Error("reshape: cannot reshape " + shape_str(a.value().shape()) + " (" + std::to_string(total) +
                    " elements) into " + shape_str(shape));
    Array y = a.value();
    y.reshape(out);
    const Shape in = a.shape();
    return record("reshape", std::move(y), {a}, [in](Step& s) -> Grads {
        Array g = s.take_grad();
        g.reshape(in);
        return {std::move(g)};
    });
}

// y = a repeated along broadcast axes     da = g (the sweep sums it back to a's shape)
Tensor broadcast_to(const Tensor& a, const Shape& shape) {
    const Shape b = detail::broadcast_shapes(a.shape(), shape, "broadcast_to");
    if (b != shape)
        throw Error("broadcast_to: shape " + shape_str(a.value().shape()) + " cannot be broadcast to " +
                    shape_str(shape));
    return record("broadcast_to", Array(xt::broadcast(a.value(), shape)), {a},
                  [](Step& s) -> Grads { return {s.take_grad()}; });
}

Tensor squeeze(const Tensor& a, int axis) {
    const std::size_t ax = detail::normalize_axis(axis, a.ndim(), "squeeze");
    if (a.value().shape()[ax] != 1)
        throw Error("squeeze: axis " + std::to_string(axis) + " of shape " + shape_str(a.value().shape()) +
                    " has length " + std::to_string(a.value().shape()[ax]) + ", not 1");
    std::vector<long> out;
    for (std::size_t i = 0; i < a.ndim(); ++i)
        if (i != ax) out.push_back(static_cast<long>(a.value().shape()[i]));
    return reshape(a, out);
}

Tensor unsqueeze(const Tensor& a, int axis) {
    const std::size_t ax = detail::normalize_axis(axis, a.ndim() + 1, "unsqueeze");
    std::vector<long> out;
    for (std::size_t i = 0; i < a.ndim(); ++i) out.push_back(static_cast<long>(a.value().shape()[i]));
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(ax), 1);
    return reshape(a, out);
}

// y = [a_0, a_1, ...] along axis          da_k = g[..., offset_k : offset_k + n_k, ...]
Tensor concat(const std::vector<Tensor>& parts, int axis) {
    if (parts.empty()) throw Error("concat: no tensors given");
    const Shape first = parts[0].shape();
    const std::size_t ax = detail::normalize_axis(axis, first.size(), "concat");
    Shape out = first;
    out[ax] = 0;
    std::vector<std::size_t> offsets;
    for (const Tensor& p : parts) {
        Shape s = p.shape();
        Shape s0 = s, f0 = first;
        if (s.size() == first.size()) s0[ax] = f0[ax] = 0;
        if (s0 != f0)
            throw Error("concat: shapes " + shape_str(first) + " and " + shape_str(s) +
                        " differ outside axis " + std::to_string(axis));
        offsets.push_back(out[ax]);
        out[ax] += s[ax];
    }
    Array y = Array::from_shape(out);
    const AxisSplit so = detail::split_at(out, ax);
    for (std::size_t k = 0; k < parts.size(); ++k) {
        const Shape s = parts[k].shape();
        copy_block(parts[k].value().data(), detail::split_at(s, ax), 0, y.data(), so, offsets[k], s[ax]);
    }
    return record("concat", std::move(y), parts, [ax, offsets, out](Step& s) -> Grads {
        Grads g;
        for (std::size_t k = 0; k < s.num_inputs(); ++k)
            g.add(take_range(s.grad, ax, offsets[k], s.input(k).shape()[ax]));
        return g;
    });
}

// y = [a_0, a_1, ...] along a new axis    da_k = g[..., k, ...]
Tensor stack(const std::vector<Tensor>& parts, int axis) {
    if (parts.empty()) throw Error("stack: no tensors given");
    const Shape first = parts[0].shape();
    const std::size_t ax = detail::normalize_axis(axis, first.size() + 1, "stack");
    for (const Tensor& p : parts)
        if (p.value().shape() != parts[0].value().shape())
            throw Error("stack: shapes " + shape_str(first) + " and " + shape_str(p.value().shape()) + " differ");
    Shape out = first;
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(ax), parts.size());
    Array y = Array::from_shape(out);
    const AxisSplit so = detail::split_at(out, ax);
    AxisSplit si = so;
    si.n = 1;
    for (std::size_t k = 0; k < parts.size(); ++k) copy_block(parts[k].value().data(), si, 0, y.data(), so, k, 1);
    return record("stack", std::move(y), parts, [ax, first](Step& s) -> Grads {
        Grads g;
        for (std::size_t k = 0; k < s.num_inputs(); ++k) {
            Array gk = take_range(s.grad, ax, k, 1);
            gk.reshape(first);
            g.add(std::move(gk));
        }
        return g;
    });
}

std::vector<Tensor> unstack(const Tensor& a, int axis) {
    const std::size_t ax = detail::normalize_axis(axis, a.ndim(), "unstack");
    std::vector<Tensor> out;
    for (std::size_t k = 0; k < a.value().shape()[ax]; ++k) out.push_back(select(a, axis, static_cast<long>(k)));
    return out;
}

// y = a[..., start:end, ...]              da = zeros with g at [start, end)
Tensor slice(const Tensor& a, int axis, long start, long end) {
    const std::size_t ax = detail::normalize_axis(axis, a.ndim(), "slice");
    const std::size_t n = a.value().shape()[ax];
    const std::size_t b = resolve_index(start, n), e = resolve_index(end, n);
    if (e < b)
        throw Error("slice: empty range [" + std::to_string(start) + ", " + std::to_string(end) + ") along axis " +
                    std::to_string(axis) + " of shape " + shape_str(a.value().shape()));
    const Shape in = a.shape();
    return record("slice", take_range(a.value(), ax, b, e - b), {a}, [in, ax, b, e](Step& s) -> Grads {
        return {put_range(s.grad, in, ax, b, e - b)};
    });
}

// y = a[..., index, ...]                  da = zeros with g at index
Tensor select(const Tensor& a, int axis, long index) {
    const std::size_t ax = detail::normalize_axis(axis, a.ndim(), "select");
    const long n = static_cast<long>(a.value().shape()[ax]);
    if (index < -n || index >= n)
        throw Error("select: index " + std::to_string(index) + " is out of range for axis " + std::to_string(axis) +
                    " of shape " + shape_str(a.value().shape()));
    const std::size_t i = static_cast<std::size_t>(index < 0 ? index + n : index);
    const Shape in = a.shape();
    Shape out = in;
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(ax));
    Array y = take_range(a.value(), ax, i, 1);
    y.reshape(out);
    return record("select", std::move(y), {a}, [in, ax, i](Step& s) -> Grads {
        return {put_range(s.grad, in, ax, i, 1)};
    });
}

}  // namespace tapegrad::autograd
