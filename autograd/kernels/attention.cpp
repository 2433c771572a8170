// The loops of attention.hpp.
#include "autograd/kernels/attention.hpp"

#include <vector>

#include "autograd/kernels/blas.hpp"
#include "autograd/kernels/parallel.hpp"
#include "autograd/kernels/reduce.hpp"
#include "autograd/kernels/simd.hpp"

namespace tapegrad::kernels {

namespace {

int as_int(std::size_t n) { return static_cast<int>(n); }

// Runs f(b, h, scratch) for every pair, in pieces over the pool; scratch holds
// `floats` floats per thread.
template <class F>
void for_pairs(const AttentionDims& a, std::size_t floats, F f) {
    parallel_for(a.batch * a.heads, 1, [&](std::size_t begin, std::size_t end, std::size_t) {
        std::vector<float> scratch(floats);
        for (std::size_t pair = begin; pair < end; ++pair) f(pair / a.heads, pair % a.heads, scratch.data());
    }, 1);
}

}  // namespace

void attention(const AttentionDims& a, HeadRows<const float> q, HeadRows<const float> k, HeadRows<const float> v,
               float* p, HeadRows<float> o) {
    const std::size_t Lq = q.rows, Lk = k.rows, d = a.d, block = Lq * Lk;
    const BatchRecording recording({{.m = Lq, .k = d, .n = Lk, .trans_b = true}, {.m = Lq, .k = Lk, .n = d}},
                                   a.batch * a.heads);
    for_pairs(a, a.keep ? block : 0, [&](std::size_t b, std::size_t h, float* dropped) {
        float* s = p + (b * a.heads + h) * block;
        // S = Q K^T, then * scale and + mask, element by element as the composed ops round.
        sgemm(false, true, as_int(Lq), as_int(Lk), as_int(d), 1.0f, q.head(b, h, d), as_int(q.ld), k.head(b, h, d),
              as_int(k.ld), 0.0f, s, as_int(Lk));
        scale(a.scale, s, block);
        if (a.mask)
            for (std::size_t i = 0; i < Lq; ++i) {
                const float* m = a.mask + b * a.mask_stride[0] + h * a.mask_stride[1] + i * a.mask_stride[2];
                for (std::size_t j = 0; j < Lk; ++j) s[i * Lk + j] += m[j * a.mask_stride[3]];
            }
        softmax_axis(s, {Lq, Lk, 1}, s);
        const float* weights = s;
        if (a.keep) {
            scale_kept(s, a.keep + (b * a.heads + h) * block, a.keep_scale, dropped, block);
            weights = dropped;
        }
        sgemm(false, false, as_int(Lq), as_int(d), as_int(Lk), 1.0f, weights, as_int(Lk), v.head(b, h, d), as_int(v.ld),
              0.0f, o.head(b, h, d), as_int(o.ld));
    });
}

void attention_backward(const AttentionDims& a, HeadRows<const float> q, HeadRows<const float> k,
                        HeadRows<const float> v, const float* p, HeadRows<const float> d_o, HeadRows<float> dq,
                        HeadRows<float> dk, HeadRows<float> dv) {
    const std::size_t Lq = q.rows, Lk = k.rows, d = a.d, block = Lq * Lk;
    const BatchRecording recording({{.m = Lq, .k = d, .n = Lk, .trans_b = true},
                                    {.m = Lk, .k = Lq, .n = d, .trans_a = true},
                                    {.m = Lq, .k = Lk, .n = d},
                                    {.m = Lk, .k = Lq, .n = d, .trans_a = true}},
                                   a.batch * a.heads);
    for_pairs(a, 2 * block, [&](std::size_t b, std::size_t h, float* scratch) {
        const float* weights = p + (b * a.heads + h) * block;
        float* grad = scratch;               // dPd, then dP, then dS
        float* dropped = scratch + block;    // Pd
        const std::uint8_t* keep = a.keep ? a.keep + (b * a.heads + h) * block : nullptr;
        const float* pd = weights;
        if (keep) {
            scale_kept(weights, keep, a.keep_scale, dropped, block);
            pd = dropped;
        }
        // dPd = dO V^T, dV = Pd^T dO
        sgemm(false, true, as_int(Lq), as_int(Lk), as_int(d), 1.0f, d_o.head(b, h, d), as_int(d_o.ld), v.head(b, h, d),
              as_int(v.ld), 0.0f, grad, as_int(Lk));
        sgemm(true, false, as_int(Lk), as_int(d), as_int(Lq), 1.0f, pd, as_int(Lk), d_o.head(b, h, d), as_int(d_o.ld),
              0.0f, dv.head(b, h, d), as_int(dv.ld));
        if (keep) scale_kept(grad, keep, a.keep_scale, grad, block);
        softmax_axis_backward(grad, weights, {Lq, Lk, 1}, grad);
        scale(a.scale, grad, block);
        // dQ = dS K, dK = dS^T Q
        sgemm(false, false, as_int(Lq), as_int(d), as_int(Lk), 1.0f, grad, as_int(Lk), k.head(b, h, d), as_int(k.ld),
              0.0f, dq.head(b, h, d), as_int(dq.ld));
        sgemm(true, false, as_int(Lk), as_int(d), as_int(Lq), 1.0f, grad, as_int(Lk), q.head(b, h, d), as_int(q.ld),
              0.0f, dk.head(b, h, d), as_int(dk.ld));
    });
}

}  // namespace tapegrad::kernels
