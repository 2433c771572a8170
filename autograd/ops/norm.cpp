// layer_norm, a dedicated op (one entry instead of about eight, and the variance
// from x - mean); its loops are kernels/norm.hpp, its composition reference::layer_norm.
#include "autograd/ops/norm.hpp"

#include <memory>

#include "autograd/kernels/norm.hpp"
#include "autograd/tape.hpp"

namespace tapegrad::autograd {

// xhat = (x - mu) r, r = 1 / sqrt(var + eps);  y = xhat w + b
// dx = r (gh - mean(gh) - xhat mean(gh xhat)) with gh = g w;  dw = sum_rows g xhat;  db = sum_rows g
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
    if (x.ndim() < 1 || x.shape().back() == 0)
        throw Error("layer_norm: input " + shape_str(x.shape()) + " has no last axis to normalise over");
    const std::size_t D = x.shape().back(), rows = x.size() / D;
    for (const Tensor* p : {&weight, &bias})
        if (p->defined() && p->shape() != Shape{D})
            throw Error("layer_norm: " + std::string(p == &weight ? "weight " : "bias ") + shape_str(p->shape()) +
                        " does not fit input " + shape_str(x.shape()) + " (expected [" + std::to_string(D) + "])");
    if (!(eps > 0.0f)) throw Error("layer_norm: eps " + std::to_string(eps) + " must be positive");
    struct Saved {
        Array xhat, r;
    };
    auto saved = std::make_shared<Saved>(Saved{Array::from_shape(x.shape()), Array::from_shape({rows})});
    Array y = Array::from_shape(x.shape());
    kernels::layer_norm(x.value().data(), weight.defined() ? weight.value().data() : nullptr,
                        bias.defined() ? bias.value().data() : nullptr, eps, rows, D, y.data(), saved->xhat.data(),
                        saved->r.data());
    std::vector<Tensor> inputs{x};
    if (weight.defined()) inputs.push_back(weight);
    if (bias.defined()) inputs.push_back(bias);
    const bool has_weight = weight.defined(), has_bias = bias.defined();
    // The rule reads the weight, and xhat and r kept above; not x itself.
    return record("layer_norm", std::move(y), inputs, has_weight ? reads_input(1) : reads_nothing,
                  [saved, rows, D, has_weight, has_bias](Step& s) -> Grads {
        Grads g(s);
        const std::size_t wi = 1, bi = has_weight ? 2 : 1;
        auto grad_of = [&](bool present, std::size_t i, const Shape& shape) -> float* {
            if (!present || !s.needs_grad(i)) return nullptr;
            g[i] = Array::from_shape(shape);
            return g[i]->data();
        };
        float* dx = grad_of(true, 0, s.input_shape(0));
        float* dw = grad_of(has_weight, wi, {D});
        float* db = grad_of(has_bias, bi, {D});
        kernels::layer_norm_backward(s.grad.data(), saved->xhat.data(), saved->r.data(),
                                     has_weight ? s.input(wi).data() : nullptr, rows, D, dx, dw, db);
        return g;
    });
}

}  // namespace tapegrad::autograd
