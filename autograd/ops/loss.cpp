// The losses. Their row loops are kernels/loss.hpp; linear_cross_entropy's
// blocked computation is kernels/vocab_loss.hpp; reference.cpp composes the
// dedicated ones from primitive ops.
#include "autograd/ops/loss.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "autograd/kernels/loss.hpp"
#include "autograd/kernels/simd.hpp"
#include "autograd/kernels/vocab_loss.hpp"
#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/tape.hpp"

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

// The shape of linear_cross_entropy's input i (x, weight, bias).
Shape shape_of_input(const kernels::VocabLoss& p, std::size_t i) {
    if (i == 0) return {p.N, p.H};
    if (i == 1) return {p.V, p.H};
    return {p.V};
}

// linear_cross_entropy's problem as its backward rule sees it.
kernels::VocabLoss problem_of(const Step& s, const Indices& targets, std::int64_t ignore) {
    const Array &x = s.input(0), &w = s.input(1);
    return {x.data(), w.data(), s.num_inputs() == 3 ? s.input(2).data() : nullptr, targets.data(), ignore,
            x.shape()[0], x.shape()[1], w.shape()[0]};
}

// The upstream gradient of each row, whatever the reduction.
kernels::RowGrad row_grad(const Array& g, Reduction r, std::size_t counted) {
    return {g.data(), r == Reduction::none, r == Reduction::mean ? static_cast<float>(counted) : 1.0f};
}

}  // namespace

// y_n = -lp[n, t_n]         dlp[n, t_n] = -g_n
Tensor nll_loss(const Tensor& log_probs, const Indices& targets, Reduction reduction, std::int64_t ignore_index) {
    const Array& lp = log_probs.value();
    const std::size_t counted = check_targets("nll_loss", shape_of(lp), targets, ignore_index);
    const std::size_t N = lp.shape()[0], C = lp.shape()[1];
    std::vector<float> rows(N);
    kernels::nll_rows(lp.data(), N, C, targets.data(), ignore_index, rows.data());
    return record("nll_loss", reduce_rows(rows, reduction, counted), {log_probs}, reads_nothing,
                  [targets, reduction, ignore_index, counted, N, C](Step& s) -> Grads {
                      Array d = Array::from_shape({N, C});
                      kernels::nll_backward(row_grad(s.grad, reduction, counted), N, C, targets.data(), ignore_index,
                                            d.data());
                      return {std::move(d)};
                  });
}

// y_n = logsumexp(x_n) - x[n, t_n]          dx_n = g_n * (softmax(x_n) - onehot(t_n))
Tensor cross_entropy(const Tensor& logits, const Indices& targets, Reduction reduction, std::int64_t ignore_index) {
    const Array& x = logits.value();
    const std::size_t counted = check_targets("cross_entropy", shape_of(x), targets, ignore_index);
    const std::size_t N = x.shape()[0], C = x.shape()[1];
    std::vector<float> rows(N), lse(N);
    kernels::cross_entropy_rows(x.data(), N, C, targets.data(), ignore_index, lse.data(), rows.data());
    return record("cross_entropy", reduce_rows(rows, reduction, counted), {logits}, reads_input(0),
                  [targets, reduction, ignore_index, counted, N, C, lse = std::move(lse)](Step& s) -> Grads {
                      Array d = Array::from_shape({N, C});
                      kernels::cross_entropy_backward(s.input(0).data(), lse.data(), row_grad(s.grad, reduction, counted),
                                                      N, C, targets.data(), ignore_index, d.data());
                      return {std::move(d)};
                  });
}

// z = x W^T + b;  y_n = logsumexp(z_n) - z[n, t_n]
// dz_n = g_n (softmax(z_n) - onehot(t_n));  dx = dz W;  dW = dz^T x;  db = sum_n dz_n
// (kernels/vocab_loss.hpp computes it without ever holding all of z for a reduced loss)
Tensor linear_cross_entropy(const Tensor& x, const Tensor& weight, const Tensor& bias, const Indices& targets,
                            Reduction reduction, std::int64_t ignore_index) {
    const Array& X = x.value();
    const Array& W = weight.value();
    if (X.dimension() != 2 || W.dimension() != 2 || X.shape()[1] != W.shape()[1])
        throw Error("linear_cross_entropy: input " + shape_str(X.shape()) + " does not fit weight " + shape_str(W.shape()) +
                    " ([N, H] with weight [V, H])");
    const std::size_t N = X.shape()[0], H = X.shape()[1], V = W.shape()[0];
    if (bias.defined() && bias.shape() != Shape{V})
        throw Error("linear_cross_entropy: bias " + shape_str(bias.shape()) + " does not fit weight " + shape_str(W.shape()));
    const std::size_t counted = check_targets("linear_cross_entropy", {N, V}, targets, ignore_index);
    const kernels::VocabLoss problem{X.data(), W.data(), bias.defined() ? bias.value().data() : nullptr,
                                     targets.data(), ignore_index, N, H, V};
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    std::vector<float> rows(N);
    const bool recording = is_grad_enabled() && (x.requires_grad() || weight.requires_grad() ||
                                                 (bias.defined() && bias.requires_grad()));
    if (!recording) {  // evaluation: blocks of rows through one small buffer
        kernels::losses(problem, rows.data());
        return Tensor(reduce_rows(rows, reduction, counted));
    }

    if (reduction != Reduction::none) {
        // The gradients of the loss itself, computed now; the rule scales them by g.
        const float per_row = reduction == Reduction::mean ? (counted ? 1.0f / static_cast<float>(counted) : 0.0f) : 1.0f;
        auto grads = std::make_shared<std::vector<std::optional<Array>>>(inputs.size());
        auto compute = [per_row, grads](const kernels::VocabLoss& p, const std::vector<bool>& wanted, float* rows) {
            kernels::VocabLossGrads d;
            float** slots[] = {&d.x, &d.w, &d.b};
            for (std::size_t i = 0; i < wanted.size(); ++i)
                if (wanted[i]) *slots[i] = (*grads)[i].emplace(Array::from_shape(shape_of_input(p, i))).data();
            kernels::loss_with_grads(p, per_row, rows, d);
        };
        std::vector<bool> wanted;
        for (const Tensor& t : inputs) wanted.push_back(t.requires_grad());
        compute(problem, wanted, rows.data());
        return record("linear_cross_entropy", reduce_rows(rows, reduction, counted), inputs,
                      [grads, compute, targets, ignore_index](Step& s) -> Grads {
                          std::vector<bool> missing(s.num_inputs());
                          for (std::size_t i = 0; i < s.num_inputs(); ++i) missing[i] = s.needs_grad(i) && !(*grads)[i];
                          if (std::find(missing.begin(), missing.end(), true) != missing.end()) {
                              // requires_grad was switched on after the forward pass: compute those now
                              const kernels::VocabLoss p = problem_of(s, targets, ignore_index);
                              std::vector<float> rows(p.N);
                              compute(p, missing, rows.data());
                          }
                          const float g = s.grad.data()[0];
                          Grads out(s);
                          for (std::size_t i = 0; i < s.num_inputs(); ++i)
                              if (s.needs_grad(i)) {
                                  Array& d = *(*grads)[i];
                                  if (g != 1.0f) kernels::scale(g, d.data(), d.size());
                                  out[i] = std::move(d);  // each rule runs once: the buffer is handed over, not copied
                              }
                          return out;
                      });
    }
    // Per-row losses: the logits are kept for the rule, which turns them into dz in place.
    auto z = std::make_shared<Array>(Array::from_shape({N, V}));
    std::vector<float> inv_sum(N);
    kernels::logits_and_losses(problem, z->data(), rows.data(), inv_sum.data());
    return record("linear_cross_entropy", reduce_rows(rows, reduction, counted), inputs,
                  [z, targets, ignore_index, counted, inv_sum = std::move(inv_sum)](Step& s) -> Grads {
                      Grads g(s);
                      kernels::VocabLossGrads d;
                      float** slots[] = {&d.x, &d.w, &d.b};
                      for (std::size_t i = 0; i < s.num_inputs(); ++i)
                          if (s.needs_grad(i)) {
                              g[i] = Array::from_shape(s.input(i).shape());
                              *slots[i] = g[i]->data();
                          }
                      kernels::backward_from_logits(problem_of(s, targets, ignore_index), z->data(), inv_sum.data(), row_grad(s.grad, Reduction::none, counted), d);
                      z->resize({0});  // the logits are spent: free them now, not when the tape is cleared
                      return g;
                  });
}

// y = max(x, 0) - x t + log1p(e^-|x|)       dx = g (sigmoid(x) - t)       dt = -g x
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction) {
    const Array& x = logits.value();
    const Array& t = targets.value();
    if (x.shape() != t.shape())
        throw Error("binary_cross_entropy_with_logits: logits " + shape_str(x.shape()) + " and targets " +
                    shape_str(t.shape()) + " must have the same shape");
    const float n = static_cast<float>(x.size());
    if (reduction == Reduction::mean && x.size() == 0)
        throw Error("binary_cross_entropy_with_logits: the mean of zero elements (shape " + shape_str(x.shape()) + ")");
    if (reduction == Reduction::none) {
        Array y = Array::from_shape(x.shape());
        kernels::bce_with_logits(x.data(), t.data(), y.data(), x.size());
        return record("binary_cross_entropy_with_logits", std::move(y), {logits, targets}, [](Step& s) -> Grads {
            Grads g(s);
            if (s.needs_grad(0)) g[0] = s.grad * (1.0f / (1.0f + xt::exp(-s.input(0))) - s.input(1));
            if (s.needs_grad(1)) g[1] = -s.grad * s.input(0);
            return g;
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
        Grads out(s);
        if (s.needs_grad(0)) {
            const Array& x = s.input(0);
            if (!want_dx) {  // requires_grad was switched on after the forward pass
                *dx = Array::from_shape(x.shape());
                kernels::bce_with_logits(x.data(), s.input(1).data(), nullptr, x.size(), dx->data());
            }
            kernels::scale(g, dx->data(), dx->size());
            out[0] = std::move(*dx);  // each rule runs once: the buffer is handed over, not copied
        }
        if (s.needs_grad(1)) out[1] = -g * s.input(0);  // targets are data almost always: rarely computed
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
