// GRU and LSTM layers on packed sequences; the equations are at the top of rnn.hpp.
#include "autograd/kernels/rnn.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <xsimd/xsimd.hpp>

#include "autograd/kernels/blas.hpp"
#include "autograd/kernels/simd.hpp"

namespace tapegrad::kernels {

// ---------------------------------------------------------------- the packed layout

Packing::Packing(const std::vector<std::size_t>& lengths, std::size_t T_, bool rev)
    : B(lengths.size()), T(T_), length(lengths), reverse(rev) {
    order.resize(B);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return length[a] > length[b]; });
    const std::size_t longest = B ? length[order[0]] : 0;
    for (std::size_t s = 0; s < longest; ++s) {
        std::size_t n = 0;
        while (n < B && length[order[n]] > s) ++n;
        offset.push_back(rows);
        batch.push_back(n);
        rows += n;
    }
}

std::size_t Packing::position(std::size_t s, std::size_t r) const {
    const std::size_t b = order[r];
    const std::size_t t = reverse ? length[b] - 1 - s : s;
    return b * T + t;
}

void Packing::pack(const float* src, float* dst, std::size_t D) const {
    for (std::size_t s = 0; s < steps(); ++s)
        for (std::size_t r = 0; r < batch[s]; ++r)
            std::memcpy(dst + (offset[s] + r) * D, src + position(s, r) * D, D * sizeof(float));
}

void Packing::unpack(const float* src, float* dst, std::size_t D, std::size_t stride, std::size_t column) const {
    for (std::size_t s = 0; s < steps(); ++s)
        for (std::size_t r = 0; r < batch[s]; ++r)
            std::memcpy(dst + position(s, r) * stride + column, src + (offset[s] + r) * D, D * sizeof(float));
}

void Packing::sort_rows(const float* src, float* dst, std::size_t D) const {
    for (std::size_t r = 0; r < B; ++r) std::memcpy(dst + r * D, src + order[r] * D, D * sizeof(float));
}

void Packing::unsort_rows(const float* src, float* dst, std::size_t D) const {
    for (std::size_t r = 0; r < B; ++r) std::memcpy(dst + order[r] * D, src + r * D, D * sizeof(float));
}

namespace {

// ---------------------------------------------------------------- one step of one row
// Each cell is written once, for a value type V that is either a SIMD batch of
// floats or one float: the loops below run it over the batches of a row and then
// over the row's last few elements.

using Batch = xsimd::batch<float>;
constexpr std::size_t lanes = Batch::size;

template <class V> V load(const float* p);
template <> inline Batch load<Batch>(const float* p) { return Batch::load_unaligned(p); }
template <> inline float load<float>(const float* p) { return *p; }
inline void store(float* p, const Batch& v) { v.store_unaligned(p); }
inline void store(float* p, float v) { *p = v; }
inline Batch exp_of(const Batch& x) { return xsimd::exp(x); }
inline float exp_of(float x) { return std::exp(x); }
inline Batch tanh_of(const Batch& x) { return xsimd::tanh(x); }
inline float tanh_of(float x) { return std::tanh(x); }
template <class V> V sigmoid(const V& x) { return V(1.0f) / (V(1.0f) + exp_of(-x)); }

// Runs cell<V>(j) over j = 0, W, 2W, ... with V = Batch, then over the rest one by one.
template <class Cell>
void over_row(std::size_t H, Cell cell) {
    std::size_t j = 0;
    for (; j + lanes <= H; j += lanes) cell.template operator()<Batch>(j);
    for (; j < H; ++j) cell.template operator()<float>(j);
}

// gi, gh: [3H] projections; writes r, z, n and h [H].
void gru_cell(const float* gi, const float* gh, const float* hprev, float* r, float* z, float* n, float* h,
              std::size_t H) {
    over_row(H, [&]<class V>(std::size_t j) {
        const V rv = sigmoid(load<V>(gi + j) + load<V>(gh + j));
        const V zv = sigmoid(load<V>(gi + H + j) + load<V>(gh + H + j));
        const V nv = tanh_of(load<V>(gi + 2 * H + j) + rv * load<V>(gh + 2 * H + j));
        store(r + j, rv);
        store(z + j, zv);
        store(n + j, nv);
        store(h + j, nv + zv * (load<V>(hprev + j) - nv));  // (1 - z) n + z hprev
    });
}

// Given dh [H], writes dgi [3H], dgh [3H] and dhprev [H] (the part through z * hprev).
void gru_cell_backward(const float* dh, const float* hprev, const float* r, const float* z, const float* n,
                       const float* gh_n, float* dgi, float* dgh, float* dhprev, std::size_t H) {
#pragma omp simd
    for (std::size_t j = 0; j < H; ++j) {
        const float dn = dh[j] * (1.0f - z[j]);
        const float dz = dh[j] * (hprev[j] - n[j]);
        const float dan = dn * (1.0f - n[j] * n[j]);
        const float dr = dan * gh_n[j];
        const float dar = dr * r[j] * (1.0f - r[j]);
        const float daz = dz * z[j] * (1.0f - z[j]);
        dgi[j] = dar;
        dgi[H + j] = daz;
        dgi[2 * H + j] = dan;
        dgh[j] = dar;
        dgh[H + j] = daz;
        dgh[2 * H + j] = dan * r[j];
        dhprev[j] = dh[j] * z[j];
    }
}

// a [4H]: the summed projections, overwritten with the activated gates; writes c,
// tanh(c) and h [H].
void lstm_cell(float* a, const float* cprev, float* c, float* tc, float* h, std::size_t H) {
    over_row(H, [&]<class V>(std::size_t j) {
        const V i = sigmoid(load<V>(a + j));
        const V f = sigmoid(load<V>(a + H + j));
        const V g = tanh_of(load<V>(a + 2 * H + j));
        const V o = sigmoid(load<V>(a + 3 * H + j));
        const V cv = f * load<V>(cprev + j) + i * g;
        const V t = tanh_of(cv);
        store(a + j, i);
        store(a + H + j, f);
        store(a + 2 * H + j, g);
        store(a + 3 * H + j, o);
        store(c + j, cv);
        store(tc + j, t);
        store(h + j, o * t);
    });
}

// Given dh and dc [H] (dc including what flows back from the next step), writes
// da [4H] and dcprev [H].
void lstm_cell_backward(const float* dh, const float* dc, const float* gates, const float* cprev, const float* tc,
                        float* da, float* dcprev, std::size_t H) {
    const float* i = gates;
    const float* f = gates + H;
    const float* g = gates + 2 * H;
    const float* o = gates + 3 * H;
#pragma omp simd
    for (std::size_t j = 0; j < H; ++j) {
        const float dct = dc[j] + dh[j] * o[j] * (1.0f - tc[j] * tc[j]);
        da[j] = dct * g[j] * i[j] * (1.0f - i[j]);
        da[H + j] = dct * cprev[j] * f[j] * (1.0f - f[j]);
        da[2 * H + j] = dct * i[j] * (1.0f - g[j] * g[j]);
        da[3 * H + j] = dh[j] * tc[j] * o[j] * (1.0f - o[j]);
        dcprev[j] = dct * f[j];
    }
}

// ---------------------------------------------------------------- shared by both layers

// W_hh^T [H, G] of a recurrent weight W_hh [G, H], made once per forward call, so that
// each step's product is h [n, H] times a row-major [H, G]: OpenBLAS packs it far
// faster than W_hh read transposed (docs/performance.md).
Buffer transposed(const float* w, std::size_t G, std::size_t H) {
    Buffer t(H * G);
    transpose(static_cast<int>(G), static_cast<int>(H), w, t.data());
    return t;
}

// rows x [G] filled with a bias row.
void fill_rows(float* dst, const float* bias, std::size_t rows, std::size_t G) {
    for (std::size_t r = 0; r < rows; ++r) std::memcpy(dst + r * G, bias, G * sizeof(float));
}

void column_sums(const float* g, std::size_t rows, std::size_t cols, float* out) {
    std::fill(out, out + cols, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) axpy(1.0f, g + r * cols, out, cols);
}

// The gradients that follow from da (per packed row): dX = dGi W_ih (unpacked),
// dW_ih = dGi^T X, dW_hh = dGh^T Hprev, db = column sums.
void weight_grads(const Packing& p, RnnSizes n, std::size_t G, const float* x, const float* hprev, const float* dgi,
                  const float* dgh, const float* w_ih, const RnnGrads& d) {
    const std::size_t N = p.rows, I = n.input, H = n.hidden;
    if (d.x) {
        Buffer dxp(N * I);
        matmul(dgi, w_ih, dxp.data(), N, G, I);
        std::fill(d.x, d.x + p.B * p.T * I, 0.0f);
        p.unpack(dxp.data(), d.x, I, I, 0);
    }
    if (d.w_ih) matmul_at(dgi, x, d.w_ih, G, N, I);
    if (d.w_hh) matmul_at(dgh, hprev, d.w_hh, G, N, H);
    if (d.b_ih) column_sums(dgi, N, G, d.b_ih);
    if (d.b_hh) column_sums(dgh, N, G, d.b_hh);
}

}  // namespace

// ---------------------------------------------------------------- GRU

GruLayer::GruLayer(const std::vector<std::size_t>& lengths, std::size_t T, bool reverse, RnnSizes sizes)
    : pack_(lengths, T, reverse), sizes_(sizes) {}

void GruLayer::forward(const float* x, const float* h0, const float* w_ih, const float* w_hh, const float* b_ih,
                       const float* b_hh, float* out) {
    const Packing& p = pack_;
    const std::size_t N = p.rows, B = p.B, I = sizes_.input, H = sizes_.hidden, G = 3 * H;

    // Input projections of every step at once: Gi = X W_ih^T + b_ih   [N, 3H]
    x_ = Buffer(N * I);
    p.pack(x, x_.data(), I);
    Buffer gi(N * G);
    fill_rows(gi.data(), b_ih, N, G);
    matmul_bt(x_.data(), w_ih, gi.data(), N, I, G, /*accumulate=*/true);

    const Buffer w_hh_t = transposed(w_hh, G, H);
    hprev_ = Buffer(N * H);
    gates_ = Buffer(N * 4 * H);  // r, z, n, gh_n per row
    Buffer hp(N * H);            // packed outputs
    Buffer gh(B * G);
    p.sort_rows(h0, hprev_.data(), H);  // step 0 starts from h0
    for (std::size_t s = 0; s < p.steps(); ++s) {
        const std::size_t n = p.batch[s], o = p.offset[s];
        float* prev = hprev_.data() + o * H;
        if (s > 0) std::memcpy(prev, hp.data() + p.offset[s - 1] * H, n * H * sizeof(float));
        // Hidden projections of the running rows: Gh = h W_hh^T + b_hh   [n, 3H]
        fill_rows(gh.data(), b_hh, n, G);
        matmul(prev, w_hh_t.data(), gh.data(), n, H, G, /*accumulate=*/true);
        for (std::size_t r = 0; r < n; ++r) {
            float* sg = gates_.data() + (o + r) * 4 * H;
            gru_cell(gi.data() + (o + r) * G, gh.data() + r * G, prev + r * H, sg, sg + H, sg + 2 * H,
                     hp.data() + (o + r) * H, H);
            std::memcpy(sg + 3 * H, gh.data() + r * G + 2 * H, H * sizeof(float));
        }
    }
    std::fill(out, out + B * p.T * H, 0.0f);
    p.unpack(hp.data(), out, H, H, 0);
}

void GruLayer::backward(const float* dout, const float* w_ih, const float* w_hh, const RnnGrads& d) const {
    const Packing& p = pack_;
    const std::size_t N = p.rows, B = p.B, H = sizes_.hidden, G = 3 * H;
    Buffer dhp(N * H);
    p.pack(dout, dhp.data(), H);
    Buffer dgi(N * G), dgh(N * G);
    Buffer carry(B * H), dh(B * H), direct(B * H);
    std::fill(carry.data(), carry.data() + B * H, 0.0f);
    for (std::size_t st = p.steps(); st-- > 0;) {
        const std::size_t n = p.batch[st], o = p.offset[st];
        const std::size_t carried = st + 1 < p.steps() ? p.batch[st + 1] : 0;  // rows that continue to step st+1
        for (std::size_t r = 0; r < n; ++r) {
            float* dr = dh.data() + r * H;
            std::memcpy(dr, dhp.data() + (o + r) * H, H * sizeof(float));
            if (r < carried) axpy(1.0f, carry.data() + r * H, dr, H);
            const float* sg = gates_.data() + (o + r) * 4 * H;
            gru_cell_backward(dr, hprev_.data() + (o + r) * H, sg, sg + H, sg + 2 * H, sg + 3 * H,
                              dgi.data() + (o + r) * G, dgh.data() + (o + r) * G, direct.data() + r * H, H);
        }
        // d hprev = direct part + dGh W_hh   [n, H]
        std::memcpy(carry.data(), direct.data(), n * H * sizeof(float));
        matmul(dgh.data() + o * G, w_hh, carry.data(), n, G, H, /*accumulate=*/true);
    }
    if (d.h0) p.unsort_rows(carry.data(), d.h0, H);  // every sequence has length >= 1: carry is d h0 for all rows
    weight_grads(p, sizes_, G, x_.data(), hprev_.data(), dgi.data(), dgh.data(), w_ih, d);
}

// ---------------------------------------------------------------- LSTM

LstmLayer::LstmLayer(const std::vector<std::size_t>& lengths, std::size_t T, bool reverse, RnnSizes sizes)
    : pack_(lengths, T, reverse), sizes_(sizes) {}

void LstmLayer::forward(const float* x, const float* h0, const float* c0, const float* w_ih, const float* w_hh,
                        const float* b_ih, const float* b_hh, float* out) {
    const Packing& p = pack_;
    const std::size_t N = p.rows, B = p.B, I = sizes_.input, H = sizes_.hidden, G = 4 * H;

    // All projections summed: A = X W_ih^T + b_ih + b_hh, then + h W_hh^T per step.
    x_ = Buffer(N * I);
    p.pack(x, x_.data(), I);
    Buffer bias(G);
    for (std::size_t j = 0; j < G; ++j) bias.data()[j] = b_ih[j] + b_hh[j];
    gates_ = Buffer(N * G);
    fill_rows(gates_.data(), bias.data(), N, G);
    matmul_bt(x_.data(), w_ih, gates_.data(), N, I, G, /*accumulate=*/true);

    const Buffer w_hh_t = transposed(w_hh, G, H);
    hprev_ = Buffer(N * H);
    cprev_ = Buffer(N * H);
    tanh_c_ = Buffer(N * H);
    Buffer hp(N * H), cp(N * H);
    p.sort_rows(h0, hprev_.data(), H);
    p.sort_rows(c0, cprev_.data(), H);
    for (std::size_t s = 0; s < p.steps(); ++s) {
        const std::size_t n = p.batch[s], o = p.offset[s];
        float* prev = hprev_.data() + o * H;
        float* cprev = cprev_.data() + o * H;
        if (s > 0) {
            std::memcpy(prev, hp.data() + p.offset[s - 1] * H, n * H * sizeof(float));
            std::memcpy(cprev, cp.data() + p.offset[s - 1] * H, n * H * sizeof(float));
        }
        float* a = gates_.data() + o * G;
        matmul(prev, w_hh_t.data(), a, n, H, G, /*accumulate=*/true);
        for (std::size_t r = 0; r < n; ++r)
            lstm_cell(a + r * G, cprev + r * H, cp.data() + (o + r) * H, tanh_c_.data() + (o + r) * H,
                      hp.data() + (o + r) * H, H);
    }
    std::fill(out, out + B * p.T * 2 * H, 0.0f);
    p.unpack(hp.data(), out, H, 2 * H, 0);
    p.unpack(cp.data(), out, H, 2 * H, H);
}

void LstmLayer::backward(const float* dout, const float* w_ih, const float* w_hh, const RnnGrads& d) const {
    const Packing& p = pack_;
    const std::size_t N = p.rows, B = p.B, H = sizes_.hidden, G = 4 * H;
    Buffer dhp(N * H), dcp(N * H);  // dout's halves, packed
    for (std::size_t st = 0; st < p.steps(); ++st)
        for (std::size_t r = 0; r < p.batch[st]; ++r) {
            const float* src = dout + p.position(st, r) * 2 * H;
            std::memcpy(dhp.data() + (p.offset[st] + r) * H, src, H * sizeof(float));
            std::memcpy(dcp.data() + (p.offset[st] + r) * H, src + H, H * sizeof(float));
        }
    Buffer da(N * G);
    Buffer carry_h(B * H), carry_c(B * H), dh(B * H), dc(B * H);
    std::fill(carry_h.data(), carry_h.data() + B * H, 0.0f);
    std::fill(carry_c.data(), carry_c.data() + B * H, 0.0f);
    for (std::size_t st = p.steps(); st-- > 0;) {
        const std::size_t n = p.batch[st], o = p.offset[st];
        const std::size_t carried = st + 1 < p.steps() ? p.batch[st + 1] : 0;
        for (std::size_t r = 0; r < n; ++r) {
            float* dhr = dh.data() + r * H;
            float* dcr = dc.data() + r * H;
            std::memcpy(dhr, dhp.data() + (o + r) * H, H * sizeof(float));
            std::memcpy(dcr, dcp.data() + (o + r) * H, H * sizeof(float));
            if (r < carried) {
                axpy(1.0f, carry_h.data() + r * H, dhr, H);
                axpy(1.0f, carry_c.data() + r * H, dcr, H);
            }
            lstm_cell_backward(dhr, dcr, gates_.data() + (o + r) * G, cprev_.data() + (o + r) * H,
                               tanh_c_.data() + (o + r) * H, da.data() + (o + r) * G, carry_c.data() + r * H, H);
        }
        matmul(da.data() + o * G, w_hh, carry_h.data(), n, G, H);
    }
    if (d.h0) p.unsort_rows(carry_h.data(), d.h0, H);
    if (d.c0) p.unsort_rows(carry_c.data(), d.c0, H);
    // The input and hidden projections share the summed pre-activations: dGi = dGh = da.
    weight_grads(p, sizes_, G, x_.data(), hprev_.data(), da.data(), da.data(), w_ih, d);
}

}  // namespace tapegrad::kernels
