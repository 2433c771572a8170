#include "autograd/ops/loss.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "autograd/blas.hpp"
#include "autograd/kernels.hpp"
#include "autograd/parallel.hpp"
#include "autograd/ops/linalg.hpp"
#include "autograd/ops/detail.hpp"
#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/reduce.hpp"

namespace tapegrad::autograd {

namespace {

// Checks [N, C] scores against [N] targets in [0, C) (or ignored); returns how many count.
std::size_t check_targets(const char* op, const Shape& scores, const Indices& targets, std::int64_t ignore) {
    if (scores.size() != 2 || targets.dimension() != 1 || targets.shape()[0] != scores[0])
        throw Error(std::string(op) + ": expected scores [N, C] and targets [N], got " + shape_str(scores) + " and " +
                    shape_str(targets.shape()));
    const std::int64_t C = static_cast<std::int64_t>(scores[1]);
    std::size_t counted = 0;
    for (std::size_t n = 0; n < targets.size(); ++n) {
        const std::int64_t t = targets.data()[n];
        if (t == ignore) continue;
        if (t < 0 || t >= C)
            throw Error(std::string(op) + ": target " + std::to_string(t) + " at row " + std::to_string(n) +
                        " is not a class index in [0, " + std::to_string(C) + ")");
        ++counted;
    }
    return counted;
}

// Per-row losses -> the reduced result, and the factor each row's gradient gets.
Array reduce_rows(const std::vector<float>& rows, Reduction r, std::size_t counted) {
    if (r == Reduction::none) return Array(xt::adapt(rows, {rows.size()}));
    double total = 0.0;
    for (float v : rows) total += v;
    if (r == Reduction::mean) total = counted ? total / static_cast<double>(counted) : 0.0;
    return Array(static_cast<float>(total));
}

// The upstream gradient for row n, whatever the reduction.
float row_grad(const Array& g, Reduction r, std::size_t n, std::size_t counted) {
    if (r == Reduction::none) return g.data()[n];
    if (r == Reduction::mean) return counted ? g.data()[0] / static_cast<float>(counted) : 0.0f;
    return g.data()[0];
}

}  // namespace

// y_n = -lp[n, t_n]         dlp[n, t_n] = -g_n
Tensor nll_loss(const Tensor& log_probs, const Indices& targets, Reduction reduction, std::int64_t ignore_index) {
    const Array& lp = log_probs.value();
    const std::size_t counted = check_targets("nll_loss", shape_of(lp), targets, ignore_index);
    const std::size_t N = lp.shape()[0], C = lp.shape()[1];
    std::vector<float> rows(N, 0.0f);
    for (std::size_t n = 0; n < N; ++n) {
        const std::int64_t t = targets.data()[n];
        if (t != ignore_index) rows[n] = -lp.data()[n * C + static_cast<std::size_t>(t)];
    }
    return record("nll_loss", reduce_rows(rows, reduction, counted), {log_probs},
                  [targets, reduction, ignore_index, counted, N, C](Step& s) -> Grads {
                      Array d = zeros({N, C});
                      for (std::size_t n = 0; n < N; ++n) {
                          const std::int64_t t = targets.data()[n];
                          if (t != ignore_index)
                              d.data()[n * C + static_cast<std::size_t>(t)] = -row_grad(s.grad, reduction, n, counted);
                      }
                      return {std::move(d)};
                  });
}

// y_n = logsumexp(x_n) - x[n, t_n]          dx_n = g_n * (softmax(x_n) - onehot(t_n))
Tensor cross_entropy(const Tensor& logits, const Indices& targets, Reduction reduction, std::int64_t ignore_index) {
    const Array& x = logits.value();
    const std::size_t counted = check_targets("cross_entropy", shape_of(x), targets, ignore_index);
    const std::size_t N = x.shape()[0], C = x.shape()[1];
    std::vector<float> rows(N, 0.0f), lse(N, 0.0f);
    for (std::size_t n = 0; n < N; ++n) {
        const std::int64_t t = targets.data()[n];
        if (t == ignore_index) continue;
        lse[n] = kernels::logsumexp(x.data() + n * C, C);
        rows[n] = lse[n] - x.data()[n * C + static_cast<std::size_t>(t)];
    }
    return record("cross_entropy", reduce_rows(rows, reduction, counted), {logits},
                  [targets, reduction, ignore_index, counted, N, C, lse = std::move(lse)](Step& s) -> Grads {
                      Array d = Array::from_shape({N, C});
                      for (std::size_t n = 0; n < N; ++n) {
                          float* dn = d.data() + n * C;
                          const std::int64_t t = targets.data()[n];
                          if (t == ignore_index) {
                              std::fill(dn, dn + C, 0.0f);
                              continue;
                          }
                          const float w = row_grad(s.grad, reduction, n, counted);
                          kernels::exp_shift(s.input(0).data() + n * C, lse[n], dn, C);
                          dn[t] -= 1.0f;
                          kernels::scale(w, dn, C);
                      }
                      return {std::move(d)};
                  });
}

namespace {

// Most floats in the eager path's block of logits (8 MiB). Each block costs
// sgemm one more packing of the weight, so the rows are split into as few,
// equal blocks as fit: a 736-token batch over a 10k vocabulary takes four.
// Measured on the sentence VAE (docs/performance.md): 16 MiB blocks held 12-16 MiB
// more peak RSS for no measurable speed; 4 MiB ones cost 2-3% of the step.
constexpr std::size_t eager_block_floats = std::size_t{2} << 20;

// linear_cross_entropy for a reduced (scalar) loss. Its vector-Jacobian product
// is the upstream scalar g times the loss's own gradient, so that gradient can be
// computed here, block by block of rows, while each block's logits are in cache:
// logits -> softmax - one-hot -> dx rows, dW and db accumulated. The rule left on
// the tape only multiplies by g. Same FLOPs as the textbook order, but the [N, V]
// logits never exist at once: one [rows, V] block does, beside dW, which the
// backward sweep would have allocated anyway.
template <class ForwardRows>
Tensor eager_linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Indices& targets,
                                  Reduction reduction, std::int64_t ignore_index, ForwardRows& forward_rows,
                                  const std::vector<float>& losses, const std::vector<float>& inv_sums) {
    const Array& X = x.value();
    const Array& Wt = weight.value();
    const std::size_t N = X.shape()[0], H = X.shape()[1], V = Wt.shape()[0];
    const std::size_t counted = check_targets("linear_cross_entropy", {N, V}, targets, ignore_index);
    const bool want_dx = x.requires_grad(), want_dw = weight.requires_grad();
    const bool want_db = bias.defined() && bias.requires_grad();
    // What one counted row's loss weighs in the result (the mean divides by the count).
    const float w = reduction == Reduction::mean ? (counted ? 1.0f / static_cast<float>(counted) : 0.0f) : 1.0f;
    struct Grads3 { Array dx, dw, db; };
    auto grads = std::make_shared<Grads3>();
    if (want_dx) grads->dx = Array::from_shape({N, H});
    if (want_dw) grads->dw = zeros({V, H});
    if (want_db) grads->db = zeros({V});
    const std::size_t blocks = std::max<std::size_t>(1, (N * V + eager_block_floats - 1) / eager_block_floats);
    const std::size_t block = std::max<std::size_t>(1, (N + blocks - 1) / blocks);
    Array z = Array::from_shape({std::min(block, N), V});
    // The bias gradient is summed per thread (part 0 into db, part p > 0 into its own
    // buffer), and the buffers are added once, after the last block.
    const std::size_t most_parts = parallel::max_parts();
    std::vector<Array> db_parts(want_db ? most_parts : 0);
    for (std::size_t part = 1; part < db_parts.size(); ++part) db_parts[part] = zeros({V});
    const int h_ = static_cast<int>(H), v_ = static_cast<int>(V);
    for (std::size_t from = 0; from < N; from += block) {
        const std::size_t n = std::min(block, N - from);
        const int n_ = static_cast<int>(n);
        forward_rows(from, n, z.data());  // z holds e = exp(z - max) for counted rows
        // dz = w (e / sum - onehot) over e; the bias gradient gathered while each row is in cache.
        parallel::parallel_for(n, 8, [&](std::size_t begin, std::size_t end, std::size_t part) {
            float* db = !want_db ? nullptr : part == 0 ? grads->db.data() : db_parts[part].data();
            for (std::size_t r = begin; r < end; ++r) {
                float* dz = z.data() + r * V;
                const std::int64_t t = targets.data()[from + r];
                if (t == ignore_index) {
                    std::fill(dz, dz + V, 0.0f);
                    continue;
                }
                kernels::scale(w * inv_sums[from + r], dz, V);
                dz[t] -= w;
                if (want_db) kernels::axpy(1.0f, dz, db, V);
            }
        }, 1, most_parts);
        if (want_dx)
            blas::sgemm(false, false, n_, h_, v_, 1.0f, z.data(), v_, Wt.data(), h_, 0.0f, grads->dx.data() + from * H, h_);
        if (want_dw)
            blas::sgemm(true, false, v_, h_, n_, 1.0f, z.data(), v_, X.data() + from * H, h_, 1.0f, grads->dw.data(), h_);
    }
    for (std::size_t part = 1; part < db_parts.size(); ++part) kernels::axpy(1.0f, db_parts[part].data(), grads->db.data(), V);
    const std::size_t inputs = bias.defined() ? 3 : 2;
    auto rule = [grads, want_dx, want_dw, want_db, inputs](Step& s) -> Grads {
        const float g = s.grad.data()[0];
        const std::pair<bool, Array*> parts[] = {{want_dx, &grads->dx}, {want_dw, &grads->dw}, {want_db, &grads->db}};
        Grads out;
        for (std::size_t i = 0; i < inputs; ++i) {
            auto [wanted, a] = parts[i];
            if (!wanted) {
                out.add(none);
                continue;
            }
            if (g != 1.0f) kernels::scale(g, a->data(), a->size());
            out.add(std::move(*a));
        }
        return out;
    };
    Array y = reduce_rows(losses, reduction, counted);
    if (bias.defined()) return record("linear_cross_entropy", std::move(y), {x, weight, bias}, std::move(rule));
    return record("linear_cross_entropy", std::move(y), {x, weight}, std::move(rule));
}

}  // namespace

// z = x W^T + b;  y_n = logsumexp(z_n) - z[n, t_n]
// dz_n = g_n (softmax(z_n) - onehot(t_n));  dx = dz W;  dW = dz^T x;  db = sum_n dz_n
Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Indices& targets,
                            Reduction reduction, std::int64_t ignore_index) {
    const Array& X = x.value();
    const Array& Wt = weight.value();
    if (X.dimension() != 2 || Wt.dimension() != 2 || X.shape()[1] != Wt.shape()[1])
        throw Error("linear_cross_entropy: input " + shape_str(X.shape()) + " does not fit weight " + shape_str(Wt.shape()) +
                    " ([N, H] with weight [V, H])");
    const std::size_t N = X.shape()[0], H = X.shape()[1], V = Wt.shape()[0];
    if (bias.defined() && bias.shape() != Shape{V})
        throw Error("linear_cross_entropy: bias " + shape_str(bias.value().shape()) + " does not fit weight " + shape_str(Wt.shape()));
    const float* b = bias.defined() ? bias.value().data() : nullptr;
    const bool recording = is_grad_enabled() && (x.requires_grad() || weight.requires_grad() ||
                                                 (bias.defined() && bias.requires_grad()));
    // Logits of rows [from, from + n) into z (n x V), then per row: add the bias while
    // finding the max, e = exp(z - max) in place, lse = max + log sum e.
    std::vector<float> rows(N, 0.0f), inv_sum(N, 0.0f);
    auto forward_rows = [&](std::size_t from, std::size_t n, float* z) {
        blas::sgemm(false, true, static_cast<int>(n), static_cast<int>(V), static_cast<int>(H), 1.0f, X.data() + from * H,
                    static_cast<int>(H), Wt.data(), static_cast<int>(H), 0.0f, z, static_cast<int>(V));
        parallel::parallel_for(n, 8, [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t r = begin; r < end; ++r) {
                const std::size_t row = from + r;
                const std::int64_t t = targets.data()[row];
                if (t == ignore_index) continue;
                float* zn = z + r * V;
                const float m = b ? kernels::add_max(b, zn, V) : kernels::max(zn, V);
                const float target_logit = zn[t];
                const float s = kernels::exp_shift(zn, m, zn, V);
                rows[row] = m + std::log(s) - target_logit;
                inv_sum[row] = 1.0f / s;
            }
        }, 1);
    };
    if (!recording) {
        // Nothing to differentiate (evaluation): blocks of rows through one small
        // buffer, so memory stays bounded however many rows there are.
        const std::size_t block = std::max<std::size_t>(1, (std::size_t{4} << 20) / std::max<std::size_t>(V, 1));
        const std::size_t counted = check_targets("linear_cross_entropy", {N, V}, targets, ignore_index);
        Array z = Array::from_shape({std::min(block, N), V});
        for (std::size_t from = 0; from < N; from += block) forward_rows(from, std::min(block, N - from), z.data());
        return Tensor(reduce_rows(rows, reduction, counted));
    }
    const bool has_bias = bias.defined();
    if (reduction != Reduction::none)
        return eager_linear_cross_entropy(x, weight, bias, targets, reduction, ignore_index, forward_rows, rows, inv_sum);
    // The logits, shared with the backward rule, which overwrites them (it runs once).
    auto z = std::make_shared<Array>(Array::from_shape({N, V}));
    const std::size_t counted = check_targets("linear_cross_entropy", {N, V}, targets, ignore_index);
    forward_rows(0, N, z->data());
    auto rule = [z, targets, reduction, ignore_index, counted, N, H, V, has_bias, inv_sum = std::move(inv_sum)](Step& s) -> Grads {
        // dz = g_n (e / sum - onehot), written over e; the bias gradient (column
        // sums of dz) is gathered in the same pass, while each row is in cache.
        const bool want_db = has_bias && s.needs_grad(2);
        Array db = want_db ? zeros({V}) : Array();
        for (std::size_t n = 0; n < N; ++n) {
            float* dz = z->data() + n * V;
            const std::int64_t t = targets.data()[n];
            if (t == ignore_index) {
                std::fill(dz, dz + V, 0.0f);
                continue;
            }
            const float w = row_grad(s.grad, reduction, n, counted);
            kernels::scale(w * inv_sum[n], dz, V);
            dz[t] -= w;
            if (want_db) kernels::axpy(1.0f, dz, db.data(), V);
        }
        const int n_ = static_cast<int>(N), h_ = static_cast<int>(H), v_ = static_cast<int>(V);
        Grads g;
        if (s.needs_grad(0)) {
            Array dx = Array::from_shape({N, H});
            blas::sgemm(false, false, n_, h_, v_, 1.0f, z->data(), v_, s.input(1).data(), h_, 0.0f, dx.data(), h_);
            g.add(std::move(dx));
        } else {
            g.add(none);
        }
        if (s.needs_grad(1)) {
            Array dw = Array::from_shape({V, H});
            blas::sgemm(true, false, v_, h_, n_, 1.0f, z->data(), v_, s.input(0).data(), h_, 0.0f, dw.data(), h_);
            g.add(std::move(dw));
        } else {
            g.add(none);
        }
        if (has_bias) {
            if (want_db)
                g.add(std::move(db));
            else
                g.add(none);
        }
        z->resize({0});  // the logits are spent: free them now, not when the tape is cleared
        return g;
    };
    Array y = reduce_rows(rows, reduction, counted);
    if (bias.defined()) return record("linear_cross_entropy", std::move(y), {x, weight, bias}, std::move(rule));
    return record("linear_cross_entropy", std::move(y), {x, weight}, std::move(rule));
}

// y = max(x, 0) - x t + log1p(e^-|x|)       dx = g (sigmoid(x) - t)       dt = -g x
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction) {
    const Array& x = logits.value();
    const Array& t = targets.value();
    if (x.shape() != t.shape())
        throw Error("binary_cross_entropy_with_logits: logits " + shape_str(x.shape()) + " and targets " +
                    shape_str(t.shape()) + " must have the same shape");
    const float n = static_cast<float>(x.size());
    if (reduction == Reduction::none) {
        Array y = Array::from_shape(x.shape());
        kernels::bce_with_logits(x.data(), t.data(), y.data(), x.size());
        return record("binary_cross_entropy_with_logits", std::move(y), {logits, targets}, [](Step& s) -> Grads {
            return {s.grad * (1.0f / (1.0f + xt::exp(-s.input(0))) - s.input(1)), -s.grad * s.input(0)};
        });
    }
    // A reduced loss has a scalar upstream gradient g, so dx = g (sigmoid(x) - t): its
    // second factor comes out of the forward pass's exp(-|x|) for free, and backward
    // only scales it (one exp per element instead of two, and no second pass over x).
    auto dx = std::make_shared<Array>();  // (a default Array is 0-d: one element)
    const bool want_dx = is_grad_enabled() && logits.requires_grad();
    if (want_dx) *dx = Array::from_shape(x.shape());
    const double total = kernels::bce_with_logits(x.data(), t.data(), nullptr, x.size(), want_dx ? dx->data() : nullptr);
    Array y(static_cast<float>(reduction == Reduction::mean ? total / n : total));
    return record("binary_cross_entropy_with_logits", std::move(y), {logits, targets}, [reduction, n, dx, want_dx](Step& s) -> Grads {
        const float g = s.grad.data()[0] * (reduction == Reduction::mean ? 1.0f / n : 1.0f);
        Grads out;
        if (s.needs_grad(0)) {
            const Array& x = s.input(0);
            if (!want_dx) {  // requires_grad was switched on after the forward pass
                *dx = Array::from_shape(x.shape());
                kernels::bce_with_logits(x.data(), s.input(1).data(), nullptr, x.size(), dx->data());
            }
            kernels::scale(g, dx->data(), dx->size());
            out.add(std::move(*dx));  // each rule runs once: the buffer is handed over, not copied
        } else {
            out.add(none);
        }
        if (s.needs_grad(1))
            out.add(Array(-g * s.input(0)));
        else
            out.add(none);  // targets are data almost always: skip a [N, D] product
        return out;
    });
}

Tensor reduce(const Tensor& losses, Reduction reduction) {
    switch (reduction) {
        case Reduction::none: return losses;
        case Reduction::sum: return sum(losses);
        case Reduction::mean: return mean(losses);
    }
    return losses;
}

Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction) {
    if (a.value().shape() != b.value().shape())
        throw Error("mse_loss: shapes " + shape_str(a.value().shape()) + " and " + shape_str(b.value().shape()) +
                    " must be equal");
    const Tensor d = a - b;
    return reduce(d * d, reduction);
}

}  // namespace tapegrad::autograd
