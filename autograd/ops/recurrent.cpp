#include "autograd/ops/recurrent.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>

#include "autograd/blas.hpp"
#include "autograd/kernels.hpp"
#include "autograd/ops/linalg.hpp"
#include "autograd/tape.hpp"

namespace tapegrad::autograd {

namespace {

int i32(std::size_t v) { return static_cast<int>(v); }

// The packed layout (as PyTorch's PackedSequence): sequences sorted by length,
// longest first; step s holds rows 0..batch[s]-1 of the sorted batch, stored at
// packed rows offset[s] .. offset[s] + batch[s] - 1. Since the running rows of a
// step are a prefix of the previous step's, the state of step s-1 for the rows of
// step s is simply the first batch[s] rows of step s-1.
struct Packing {
    std::size_t B = 0, T = 0, rows = 0;
    std::vector<std::size_t> length, order, batch, offset;
    bool reverse = false;

    Packing(const std::vector<std::size_t>& lengths, std::size_t B_, std::size_t T_, bool rev, const char* op)
        : B(B_), T(T_), reverse(rev) {
        length = lengths.empty() ? std::vector<std::size_t>(B, T) : lengths;
        if (length.size() != B)
            throw Error(std::string(op) + ": " + std::to_string(length.size()) + " lengths for a batch of " + std::to_string(B));
        for (std::size_t b = 0; b < B; ++b)
            if (length[b] < 1 || length[b] > T)
                throw Error(std::string(op) + ": length " + std::to_string(length[b]) + " of sequence " + std::to_string(b) +
                            " is not in [1, " + std::to_string(T) + "]");
        order.resize(B);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return length[a] > length[b]; });
        const std::size_t steps = B ? length[order[0]] : 0;
        for (std::size_t s = 0; s < steps; ++s) {
            std::size_t n = 0;
            while (n < B && length[order[n]] > s) ++n;
            offset.push_back(rows);
            batch.push_back(n);
            rows += n;
        }
    }
    std::size_t steps() const { return batch.size(); }
    // Position in the padded [B, T] layout of packed row r of step s.
    std::size_t position(std::size_t s, std::size_t r) const {
        const std::size_t b = order[r];
        const std::size_t t = reverse ? length[b] - 1 - s : s;
        return b * T + t;
    }
    // [B, T, D] -> [rows, D]
    void pack(const float* src, float* dst, std::size_t D) const {
        for (std::size_t s = 0; s < steps(); ++s)
            for (std::size_t r = 0; r < batch[s]; ++r)
                std::memcpy(dst + (offset[s] + r) * D, src + position(s, r) * D, D * sizeof(float));
    }
    // [rows, D] -> [B, T, D] (dst zero-filled first)
    void unpack(const float* src, float* dst, std::size_t D, std::size_t dst_stride, std::size_t dst_off) const {
        for (std::size_t s = 0; s < steps(); ++s)
            for (std::size_t r = 0; r < batch[s]; ++r)
                std::memcpy(dst + position(s, r) * dst_stride + dst_off, src + (offset[s] + r) * D, D * sizeof(float));
    }
    // [B, D] rows in sorted order <-> batch order
    void sort_rows(const float* src, float* dst, std::size_t D) const {
        for (std::size_t r = 0; r < B; ++r) std::memcpy(dst + r * D, src + order[r] * D, D * sizeof(float));
    }
    void unsort_rows(const float* src, float* dst, std::size_t D) const {
        for (std::size_t r = 0; r < B; ++r) std::memcpy(dst + order[r] * D, src + r * D, D * sizeof(float));
    }
};

void check(bool ok, const char* op, const std::string& what) {
    if (!ok) throw Error(std::string(op) + ": " + what);
}

// Shared validation; returns (B, T, I, H) through references.
void check_shapes(const char* op, std::size_t gates, const Tensor& x, const Tensor& h0, const Tensor& w_ih,
                  const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, std::size_t& B, std::size_t& T,
                  std::size_t& I, std::size_t& H) {
    check(x.ndim() == 3, op, "input must be [B, T, I], got " + shape_str(x.value().shape()));
    B = x.value().shape()[0];
    T = x.value().shape()[1];
    I = x.value().shape()[2];
    check(w_hh.ndim() == 2 && w_hh.value().shape()[0] % gates == 0, op,
          "weight_hh must be [" + std::to_string(gates) + "H, H], got " + shape_str(w_hh.value().shape()));
    H = w_hh.value().shape()[0] / gates;
    check(w_hh.value().shape()[1] == H, op, "weight_hh must be [" + std::to_string(gates) + "H, H], got " + shape_str(w_hh.value().shape()));
    check(w_ih.shape() == Shape{gates * H, I}, op,
          "weight_ih " + shape_str(w_ih.value().shape()) + " does not fit input " + shape_str(x.value().shape()) +
              " and hidden size " + std::to_string(H));
    for (const Tensor* b : {&b_ih, &b_hh})
        check(!b->defined() || b->shape() == Shape{gates * H}, op,
              "bias " + shape_str(b->value().shape()) + " must be [" + std::to_string(gates * H) + "]");
    check(h0.shape() == Shape{B, H}, op, "initial state " + shape_str(h0.value().shape()) + " must be [" +
                                             std::to_string(B) + ", " + std::to_string(H) + "]");
}

// W_hh^T [H, G] of a recurrent weight W_hh [G, H], made once per forward call, so that
// each step's product is h [n, H] times a row-major [H, G]: OpenBLAS packs it far
// faster than W_hh read transposed (a step of 2 to 16 rows, SkylakeX kernels:
// 12-70 us instead of 67-100; docs/performance.md).
Array transposed(const Array& w) {
    const std::size_t G = w.shape()[0], H = w.shape()[1];
    Array t = Array::from_shape({H, G});
    blas::transpose(i32(G), i32(H), w.data(), t.data());
    return t;
}

Tensor bias_or_zeros(const Tensor& b, std::size_t n) { return b.defined() ? b : Tensor(zeros({n})); }

// rows x [G] buffer filled with a bias row.
void fill_rows(float* dst, const float* bias, std::size_t rows, std::size_t G) {
    for (std::size_t r = 0; r < rows; ++r) std::memcpy(dst + r * G, bias, G * sizeof(float));
}

// What the forward pass keeps for the backward pass (shared by GRU and LSTM).
struct Saved {
    Packing pack;
    Array xp;      // [rows, I] packed inputs
    Array hprev;   // [rows, H] the state each packed row started from
    Array gates;   // GRU: r, z, n, gh_n as [rows, 4H]; LSTM: activated i, f, g, o [rows, 4H]
    Array cprev;   // LSTM: [rows, H]
    Array tc;      // LSTM: tanh(c) [rows, H]
};

// The weight and bias gradients shared by both cells: dW_ih = dGi^T X, dW_hh = dGh^T Hprev,
// db = column sums, dX = dGi W_ih (unpacked).
void weight_grads(Step& s, const Saved& sv, const Array& dgi, const Array& dgh, std::size_t G, std::size_t I,
                  std::size_t H, Grads& g, std::size_t x_index, std::size_t w_index) {
    const std::size_t N = sv.pack.rows;
    const Array& w_ih = s.input(w_index);
    if (s.needs_grad(x_index)) {
        Array dxp = Array::from_shape({N, I});
        blas::sgemm(false, false, i32(N), i32(I), i32(G), 1.0f, dgi.data(), i32(G), w_ih.data(), i32(I), 0.0f, dxp.data(), i32(I));
        Array dx = zeros(shape_of(s.input(x_index)));
        sv.pack.unpack(dxp.data(), dx.data(), I, I, 0);
        g[x_index] = {std::move(dx), true};
    }
    if (s.needs_grad(w_index)) {
        Array dw = Array::from_shape({G, I});
        blas::sgemm(true, false, i32(G), i32(I), i32(N), 1.0f, dgi.data(), i32(G), sv.xp.data(), i32(I), 0.0f, dw.data(), i32(I));
        g[w_index] = {std::move(dw), true};
    }
    if (s.needs_grad(w_index + 1)) {
        Array dw = Array::from_shape({G, H});
        blas::sgemm(true, false, i32(G), i32(H), i32(N), 1.0f, dgh.data(), i32(G), sv.hprev.data(), i32(H), 0.0f, dw.data(), i32(H));
        g[w_index + 1] = {std::move(dw), true};
    }
    for (std::size_t k = 0; k < 2; ++k)
        if (s.needs_grad(w_index + 2 + k)) {
            Array db = zeros({G});
            add_column_sums((k == 0 ? dgi : dgh).data(), N, G, db.data());
            g[w_index + 2 + k] = {std::move(db), true};
        }
}

Grads empty_grads(std::size_t n) {
    Grads g;
    for (std::size_t i = 0; i < n; ++i) g.add(none);
    return g;
}

}  // namespace

Tensor gru_layer(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih_,
                 const Tensor& b_hh_, const std::vector<std::size_t>& lengths, bool reverse) {
    std::size_t B, T, I, H;
    check_shapes("gru_layer", 3, x, h0, w_ih, w_hh, b_ih_, b_hh_, B, T, I, H);
    const std::size_t G = 3 * H;
    const Tensor b_ih = bias_or_zeros(b_ih_, G), b_hh = bias_or_zeros(b_hh_, G);
    auto sv = std::make_shared<Saved>(Saved{Packing(lengths, B, T, reverse, "gru_layer"), {}, {}, {}, {}, {}});
    const Packing& p = sv->pack;
    const std::size_t N = p.rows;

    // Input projections of every step at once: Gi = X W_ih^T + b_ih   [N, 3H]
    sv->xp = Array::from_shape({N, I});
    p.pack(x.value().data(), sv->xp.data(), I);
    Array gi = Array::from_shape({N, G});
    fill_rows(gi.data(), b_ih.value().data(), N, G);
    blas::sgemm(false, true, i32(N), i32(G), i32(I), 1.0f, sv->xp.data(), i32(I), w_ih.value().data(), i32(I), 1.0f, gi.data(), i32(G));

    const Array w_hh_t = transposed(w_hh.value());
    sv->hprev = Array::from_shape({N, H});
    sv->gates = Array::from_shape({N, 4 * H});  // r, z, n, gh_n per row
    Array hp = Array::from_shape({N, H});       // packed outputs
    Array gh = Array::from_shape({B, G});
    p.sort_rows(h0.value().data(), sv->hprev.data(), H);  // step 0 starts from h0
    for (std::size_t s = 0; s < p.steps(); ++s) {
        const std::size_t n = p.batch[s], o = p.offset[s];
        float* prev = sv->hprev.data() + o * H;
        if (s > 0) std::memcpy(prev, hp.data() + p.offset[s - 1] * H, n * H * sizeof(float));
        // Hidden projections of the running rows: Gh = h W_hh^T + b_hh   [n, 3H]
        fill_rows(gh.data(), b_hh.value().data(), n, G);
        blas::sgemm(false, false, i32(n), i32(G), i32(H), 1.0f, prev, i32(H), w_hh_t.data(), i32(G), 1.0f, gh.data(), i32(G));
        for (std::size_t r = 0; r < n; ++r) {
            float* sg = sv->gates.data() + (o + r) * 4 * H;
            kernels::gru_cell(gi.data() + (o + r) * G, gh.data() + r * G, prev + r * H, sg, sg + H, sg + 2 * H,
                              hp.data() + (o + r) * H, H);
            std::memcpy(sg + 3 * H, gh.data() + r * G + 2 * H, H * sizeof(float));
        }
    }
    Array out = zeros({B, T, H});
    p.unpack(hp.data(), out.data(), H, H, 0);

    return record("gru_layer", std::move(out), {x, h0, w_ih, w_hh, b_ih, b_hh}, [sv, B, I, H, G](Step& s) -> Grads {
        const Packing& p = sv->pack;
        const std::size_t N = p.rows;
        Array dhp = Array::from_shape({N, H});
        p.pack(s.grad.data(), dhp.data(), H);
        Array dgi = Array::from_shape({N, G}), dgh = Array::from_shape({N, G});
        Array carry = zeros({B, H}), dh = Array::from_shape({B, H}), direct = Array::from_shape({B, H});
        for (std::size_t st = p.steps(); st-- > 0;) {
            const std::size_t n = p.batch[st], o = p.offset[st];
            const std::size_t carried = st + 1 < p.steps() ? p.batch[st + 1] : 0;  // rows that continue to step st+1
            for (std::size_t r = 0; r < n; ++r) {
                float* d = dh.data() + r * H;
                std::memcpy(d, dhp.data() + (o + r) * H, H * sizeof(float));
                if (r < carried) kernels::axpy(1.0f, carry.data() + r * H, d, H);
                const float* sg = sv->gates.data() + (o + r) * 4 * H;
                kernels::gru_cell_backward(d, sv->hprev.data() + (o + r) * H, sg, sg + H, sg + 2 * H, sg + 3 * H,
                                           dgi.data() + (o + r) * G, dgh.data() + (o + r) * G, direct.data() + r * H, H);
            }
            // d hprev = direct part + dGh W_hh   [n, H]
            std::memcpy(carry.data(), direct.data(), n * H * sizeof(float));
            blas::sgemm(false, false, i32(n), i32(H), i32(G), 1.0f, dgh.data() + o * G, i32(G), s.input(3).data(), i32(H), 1.0f,
                        carry.data(), i32(H));
        }
        Grads g = empty_grads(6);
        if (s.needs_grad(1)) {  // every sequence has length >= 1, so carry holds d h0 for all rows
            Array dh0 = Array::from_shape({B, H});
            p.unsort_rows(carry.data(), dh0.data(), H);
            g[1] = {std::move(dh0), true};
        }
        weight_grads(s, *sv, dgi, dgh, G, I, H, g, 0, 2);
        return g;
    });
}

Tensor lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                  const Tensor& b_ih_, const Tensor& b_hh_, const std::vector<std::size_t>& lengths, bool reverse) {
    std::size_t B, T, I, H;
    check_shapes("lstm_layer", 4, x, h0, w_ih, w_hh, b_ih_, b_hh_, B, T, I, H);
    check(c0.shape() == Shape{B, H}, "lstm_layer", "initial cell state " + shape_str(c0.value().shape()) + " must be [" +
                                                       std::to_string(B) + ", " + std::to_string(H) + "]");
    const std::size_t G = 4 * H;
    const Tensor b_ih = bias_or_zeros(b_ih_, G), b_hh = bias_or_zeros(b_hh_, G);
    auto sv = std::make_shared<Saved>(Saved{Packing(lengths, B, T, reverse, "lstm_layer"), {}, {}, {}, {}, {}});
    const Packing& p = sv->pack;
    const std::size_t N = p.rows;

    // All projections summed: A = X W_ih^T + b_ih + b_hh, then + h W_hh^T per step.
    sv->xp = Array::from_shape({N, I});
    p.pack(x.value().data(), sv->xp.data(), I);
    Array bias = b_ih.value() + b_hh.value();
    sv->gates = Array::from_shape({N, G});
    fill_rows(sv->gates.data(), bias.data(), N, G);
    blas::sgemm(false, true, i32(N), i32(G), i32(I), 1.0f, sv->xp.data(), i32(I), w_ih.value().data(), i32(I), 1.0f,
                sv->gates.data(), i32(G));

    const Array w_hh_t = transposed(w_hh.value());
    sv->hprev = Array::from_shape({N, H});
    sv->cprev = Array::from_shape({N, H});
    sv->tc = Array::from_shape({N, H});
    Array hp = Array::from_shape({N, H}), cp = Array::from_shape({N, H});
    p.sort_rows(h0.value().data(), sv->hprev.data(), H);
    p.sort_rows(c0.value().data(), sv->cprev.data(), H);
    for (std::size_t s = 0; s < p.steps(); ++s) {
        const std::size_t n = p.batch[s], o = p.offset[s];
        float* prev = sv->hprev.data() + o * H;
        float* cprev = sv->cprev.data() + o * H;
        if (s > 0) {
            std::memcpy(prev, hp.data() + p.offset[s - 1] * H, n * H * sizeof(float));
            std::memcpy(cprev, cp.data() + p.offset[s - 1] * H, n * H * sizeof(float));
        }
        float* a = sv->gates.data() + o * G;
        blas::sgemm(false, false, i32(n), i32(G), i32(H), 1.0f, prev, i32(H), w_hh_t.data(), i32(G), 1.0f, a, i32(G));
        for (std::size_t r = 0; r < n; ++r)
            kernels::lstm_cell(a + r * G, cprev + r * H, cp.data() + (o + r) * H, sv->tc.data() + (o + r) * H,
                               hp.data() + (o + r) * H, H);
    }
    Array out = zeros({B, T, 2 * H});
    p.unpack(hp.data(), out.data(), H, 2 * H, 0);
    p.unpack(cp.data(), out.data(), H, 2 * H, H);

    return record("lstm_layer", std::move(out), {x, h0, c0, w_ih, w_hh, b_ih, b_hh}, [sv, B, I, H, G](Step& s) -> Grads {
        const Packing& p = sv->pack;
        const std::size_t N = p.rows;
        Array dhp = Array::from_shape({N, H}), dcp = Array::from_shape({N, H});
        Array gsplit = s.grad;  // [B, T, 2H]: unpack each half
        for (std::size_t st = 0; st < p.steps(); ++st)
            for (std::size_t r = 0; r < p.batch[st]; ++r) {
                const float* src = gsplit.data() + p.position(st, r) * 2 * H;
                std::memcpy(dhp.data() + (p.offset[st] + r) * H, src, H * sizeof(float));
                std::memcpy(dcp.data() + (p.offset[st] + r) * H, src + H, H * sizeof(float));
            }
        Array da = Array::from_shape({N, G});
        Array carry_h = zeros({B, H}), carry_c = zeros({B, H}), dh = Array::from_shape({B, H}), dc = Array::from_shape({B, H});
        for (std::size_t st = p.steps(); st-- > 0;) {
            const std::size_t n = p.batch[st], o = p.offset[st];
            const std::size_t carried = st + 1 < p.steps() ? p.batch[st + 1] : 0;
            for (std::size_t r = 0; r < n; ++r) {
                float* dhr = dh.data() + r * H;
                float* dcr = dc.data() + r * H;
                std::memcpy(dhr, dhp.data() + (o + r) * H, H * sizeof(float));
                std::memcpy(dcr, dcp.data() + (o + r) * H, H * sizeof(float));
                if (r < carried) {
                    kernels::axpy(1.0f, carry_h.data() + r * H, dhr, H);
                    kernels::axpy(1.0f, carry_c.data() + r * H, dcr, H);
                }
                kernels::lstm_cell_backward(dhr, dcr, sv->gates.data() + (o + r) * G, sv->cprev.data() + (o + r) * H,
                                            sv->tc.data() + (o + r) * H, da.data() + (o + r) * G, carry_c.data() + r * H, H);
            }
            blas::sgemm(false, false, i32(n), i32(H), i32(G), 1.0f, da.data() + o * G, i32(G), s.input(4).data(), i32(H), 0.0f,
                        carry_h.data(), i32(H));
        }
        Grads g = empty_grads(7);
        if (s.needs_grad(1)) {
            Array d = Array::from_shape({B, H});
            p.unsort_rows(carry_h.data(), d.data(), H);
            g[1] = {std::move(d), true};
        }
        if (s.needs_grad(2)) {
            Array d = Array::from_shape({B, H});
            p.unsort_rows(carry_c.data(), d.data(), H);
            g[2] = {std::move(d), true};
        }
        // Input and hidden projections share the summed pre-activations, so dGi = dGh = da.
        weight_grads(s, *sv, da, da, G, I, H, g, 0, 3);
        return g;
    });
}

}  // namespace tapegrad::autograd
