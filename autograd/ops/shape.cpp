// Shape ops. concat/slice/select share one idea: a contiguous array seen as
// [outer, n, inner] around the axis, whose blocks are copied (kernels/copy.hpp).
#include "autograd/ops/shape.hpp"

#include <numeric>

#include "autograd/kernels/copy.hpp"
#include "autograd/ops/detail.hpp"

namespace tapegrad::autograd {

namespace {

using kernels::AxisSplit;
using kernels::copy_block;

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
    copy_block(x.data(), split_at(shape_of(x), axis), start, y.data(), split_at(out, axis), 0,
               len);
    return y;
}

// The gradient of take_range: zeros with g placed back at [start, start + len).
Array put_range(const Array& g, const Shape& in, std::size_t axis, std::size_t start, std::size_t len) {
    Array d = zeros(in);
    Shape gs = in;
    gs[axis] = len;
    copy_block(g.data(), split_at(gs, axis), 0, d.data(), split_at(in, axis), start, len);
    return d;
}

// A shape argument as written, `infer` shown as -1.
std::string shape_arg_str(const Shape& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + (shape[i] == infer ? std::string("-1") : std::to_string(shape[i]));
    return s + "]";
}

// x with its axes permuted (kernels/copy.hpp).
Array permuted(const Array& x, const std::vector<std::size_t>& perm) {
    Shape out(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) out[i] = x.shape()[perm[i]];
    Array y = Array::from_shape(out);
    kernels::permute(x.data(), {x.shape().data(), x.shape().size()}, perm, y.data());
    return y;
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
    return record("transpose", permuted(a.value(), perm), {a}, reads_nothing, [perm](Step& s) -> Grads {
        return {permuted(s.grad, inverse(perm))};
    });
}

// y = a viewed with a new shape           da = g viewed with a's shape
Tensor reshape(const Tensor& a, const Shape& shape) {
    Shape out = shape;
    std::size_t known = 1;
    std::size_t inferred = shape.size();  // the axis given as `infer`, if any
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] != infer) {
            known *= shape[i];
        } else if (inferred == shape.size()) {
            inferred = i;
        } else {
            throw Error("reshape: only one axis can be inferred, got " + shape_arg_str(shape));
        }
    }
    const std::size_t total = a.size();
    if (inferred < shape.size()) {
        if (known == 0 || total % known != 0)
            throw Error("reshape: cannot reshape " + shape_str(a.shape()) + " into " + shape_arg_str(shape));
        out[inferred] = total / known;
        known *= out[inferred];
    }
    if (known != total)
        throw Error("reshape: cannot reshape " + shape_str(a.shape()) + " (" + std::to_string(total) +
                    " elements) into " + shape_arg_str(shape));
    Array y = a.value();
    y.reshape(out);
    const Shape in = a.shape();
    return record("reshape", std::move(y), {a}, reads_nothing, [in](Step& s) -> Grads {
        Array g = s.take_grad();
        g.reshape(in);
        return {std::move(g)};
    });
}

// Two axes swapped: a permutation (its rule is transpose's)
Tensor transpose(const Tensor& a, int axis0, int axis1) {
    std::vector<std::size_t> perm(a.ndim());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[detail::normalize_axis(axis0, a.ndim(), "transpose")],
              perm[detail::normalize_axis(axis1, a.ndim(), "transpose")]);
    return transpose(a, perm);
}

// y = a repeated along broadcast axes     da = g (the sweep sums it back to a's shape)
Tensor broadcast_to(const Tensor& a, const Shape& shape) {
    Shape out = shape;  // `infer` keeps a's length of that axis (aligned from the right)
    const Shape in = a.shape();
    for (std::size_t i = 0; i < out.size(); ++i)
        if (out[i] == infer) {
            if (i + in.size() < out.size())
                throw Error("broadcast_to: axis " + std::to_string(i) + " of " + shape_arg_str(shape) +
                            " is new, so its length cannot be kept from shape " + shape_str(in));
            out[i] = in[i + in.size() - out.size()];
        }
    const Shape b = detail::broadcast_shapes(in, out, "broadcast_to");
    if (b != out)
        throw Error("broadcast_to: shape " + shape_str(in) + " cannot be broadcast to " + shape_arg_str(shape));
    return record("broadcast_to", Array(xt::broadcast(a.value(), out)), {a}, reads_nothing,
                  [](Step& s) -> Grads { return {s.take_grad()}; });
}

Tensor squeeze(const Tensor& a, int axis) {
    const std::size_t ax = detail::normalize_axis(axis, a.ndim(), "squeeze");
    if (a.value().shape()[ax] != 1)
        throw Error("squeeze: axis " + std::to_string(axis) + " of shape " + shape_str(a.value().shape()) +
                    " has length " + std::to_string(a.value().shape()[ax]) + ", not 1");
    Shape out;
    for (std::size_t i = 0; i < a.ndim(); ++i)
        if (i != ax) out.push_back(a.shape()[i]);
    return reshape(a, out);
}

Tensor unsqueeze(const Tensor& a, int axis) {
    const std::size_t ax = detail::normalize_axis(axis, a.ndim() + 1, "unsqueeze");
    Shape out = a.shape();
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
    const AxisSplit so = split_at(out, ax);
    for (std::size_t k = 0; k < parts.size(); ++k) {
        const Shape s = parts[k].shape();
        copy_block(parts[k].value().data(), split_at(s, ax), 0, y.data(), so, offsets[k], s[ax]);
    }
    return record("concat", std::move(y), parts, reads_nothing, [ax, offsets](Step& s) -> Grads {
        Grads g(s);
        for (std::size_t k = 0; k < s.num_inputs(); ++k)
            if (s.needs_grad(k)) g[k] = take_range(s.grad, ax, offsets[k], s.input_shape(k)[ax]);
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
    const AxisSplit so = split_at(out, ax);
    AxisSplit si = so;
    si.n = 1;
    for (std::size_t k = 0; k < parts.size(); ++k) copy_block(parts[k].value().data(), si, 0, y.data(), so, k, 1);
    return record("stack", std::move(y), parts, reads_nothing, [ax, first](Step& s) -> Grads {
        Grads g(s);
        for (std::size_t k = 0; k < s.num_inputs(); ++k)
            if (s.needs_grad(k)) {
                Array gk = take_range(s.grad, ax, k, 1);
                gk.reshape(first);
                g[k] = std::move(gk);
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
    return record("slice", take_range(a.value(), ax, b, e - b), {a}, reads_nothing, [in, ax, b, e](Step& s) -> Grads {
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
    return record("select", std::move(y), {a}, reads_nothing, [in, ax, i](Step& s) -> Grads {
        return {put_range(s.grad, in, ax, i, 1)};
    });
}

}  // namespace tapegrad::autograd
