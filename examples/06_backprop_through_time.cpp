// 06_backprop_through_time: one GRU and one LSTM over a two-step sequence, forward
// and backward written out by hand from the equations of docs/rnn.md, and held
// against the fused layers (gru_layer, lstm_layer) that the models train with.
// Every number it prints can be redone on paper from the weights it prints first.
// Run: build/examples/06_backprop_through_time
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/autograd.hpp"

using namespace tapegrad;
using namespace tapegrad::autograd;

namespace {

using Vec = std::vector<double>;
constexpr std::size_t H = 2, T = 2;  // hidden size 2, two steps, input size 1, one sequence

double sigmoid(double a) { return 1.0 / (1.0 + std::exp(-a)); }

// W [rows, cols] (row-major) times v, plus b.
Vec affine(const Vec& W, const Vec& v, const Vec& b) {
    Vec out(b);
    for (std::size_t i = 0; i < b.size(); ++i)
        for (std::size_t j = 0; j < v.size(); ++j) out[i] += W[i * v.size() + j] * v[j];
    return out;
}

std::string vec(const Vec& v, std::size_t from = 0, std::size_t n = H) {
    std::string s = "[";
    for (std::size_t j = from; j < from + n; ++j) {
        char c[24];
        std::snprintf(c, sizeof c, "%s%8.4f", j > from ? " " : "", v[j]);
        s += c;
    }
    return s + "]";
}

Array to_array(const Vec& v, const Shape& shape) {
    Array a = Array::from_shape(shape);
    for (std::size_t i = 0; i < v.size(); ++i) a.data()[i] = static_cast<float>(v[i]);
    return a;
}

// The hand-computed gradient and the fused layer's, side by side; true when they agree.
bool compare(const char* name, const Vec& hand, const Tensor& t) {
    bool ok = true;
    for (std::size_t i = 0; i < hand.size(); ++i) ok = ok && std::abs(hand[i] - t.grad().data()[i]) <= 1e-5;
    const Vec lib(t.grad().begin(), t.grad().end());
    // At most 8 numbers a line: hand and fused one under the other.
    for (std::size_t from = 0; from < hand.size(); from += 8) {
        const std::size_t n = std::min<std::size_t>(8, hand.size() - from);
        const std::string label = from == 0 ? name : "";
        std::cout << "  " << label << std::string(7 - label.size(), ' ') << "by hand " << vec(hand, from, n) << "\n"
                  << "         fused   " << vec(lib, from, n) << "\n";
    }
    if (!ok) std::cout << "  " << name << " DIFFERS\n";
    return ok;
}

// One line per row of the stacked weights: the gate's name and the row's W_ih, W_hh
// and bias entries.
void print_weights(const char* gates, const Vec& w_ih, const Vec& w_hh, const Vec& b_ih, const Vec* b_hh) {
    std::cout << "  row  W_ih       W_hh             b_ih" << (b_hh ? "      b_hh" : "") << "\n";
    for (std::size_t g = 0; g < w_ih.size(); ++g) {
        char line[96];
        std::snprintf(line, sizeof line, "  %c%zu  %8.4f   %8.4f %8.4f  %8.4f", gates[g / H], g % H, w_ih[g], w_hh[g * H],
                      w_hh[g * H + 1], b_ih[g]);
        std::cout << line;
        if (b_hh) {
            std::snprintf(line, sizeof line, "  %8.4f", (*b_hh)[g]);
            std::cout << line;
        }
        std::cout << "\n";
    }
}

// The weights of both examples, small numbers a reader can multiply by hand.
const Vec x = {1.0, -0.5};  // x_1, x_2 (input size 1)
const Vec h0 = {0.2, -0.1};

bool gru() {
    // Rows in PyTorch's order: r (2 rows), z (2 rows), n (2 rows).
    const Vec w_ih = {0.5, -0.3, 0.8, 0.2, -0.6, 0.4};                                      // [3H, 1]
    const Vec w_hh = {0.1, -0.2, 0.3, 0.4, -0.5, 0.2, 0.1, 0.1, 0.6, -0.4, -0.2, 0.3};       // [3H, H]
    const Vec b_ih = {0.1, 0.0, -0.1, 0.2, 0.0, 0.1}, b_hh = {0.0, 0.1, 0.0, -0.1, 0.05, 0.0};
    std::cout << "GRU  (hidden size 2, input size 1, T = 2; L = sum over t and j of h_t[j])\n";
    print_weights("rzn", w_ih, w_hh, b_ih, &b_hh);
    std::cout << "  x = (1, -0.5), h_0 = " << vec(h0) << "\n";

    // Forward, keeping what the backward pass needs.
    std::vector<Vec> h(T + 1), r(T + 1, Vec(H)), z(T + 1, Vec(H)), n(T + 1, Vec(H)), gh(T + 1);
    h[0] = h0;
    std::cout << "forward\n";
    for (std::size_t t = 1; t <= T; ++t) {
        const Vec gi = affine(w_ih, {x[t - 1]}, b_ih);
        gh[t] = affine(w_hh, h[t - 1], b_hh);
        h[t].resize(H);
        for (std::size_t j = 0; j < H; ++j) {
            r[t][j] = sigmoid(gi[j] + gh[t][j]);
            z[t][j] = sigmoid(gi[H + j] + gh[t][H + j]);
            n[t][j] = std::tanh(gi[2 * H + j] + r[t][j] * gh[t][2 * H + j]);
            h[t][j] = (1 - z[t][j]) * n[t][j] + z[t][j] * h[t - 1][j];
        }
        std::cout << "  t=" << t << "  r " << vec(r[t]) << "  z " << vec(z[t]) << "  n " << vec(n[t]) << "  h "
                  << vec(h[t]) << "\n";
    }

    // Backward through time: dh_t = (from the output at t: 1) + (carried from step t + 1).
    Vec dw_ih(3 * H, 0.0), dw_hh(3 * H * H, 0.0), db_ih(3 * H, 0.0), db_hh(3 * H, 0.0), dx(T, 0.0);
    Vec carried(H, 0.0);
    std::cout << "backward\n";
    for (std::size_t t = T; t >= 1; --t) {
        Vec dh(H), dgi(3 * H), dgh(3 * H), dprev(H);
        for (std::size_t j = 0; j < H; ++j) {
            dh[j] = 1.0 + carried[j];
            const double dn = dh[j] * (1 - z[t][j]);
            const double dz = dh[j] * (h[t - 1][j] - n[t][j]);
            const double dan = dn * (1 - n[t][j] * n[t][j]);
            const double dr = dan * gh[t][2 * H + j];
            dgi[j] = dgh[j] = dr * r[t][j] * (1 - r[t][j]);
            dgi[H + j] = dgh[H + j] = dz * z[t][j] * (1 - z[t][j]);
            dgi[2 * H + j] = dan;
            dgh[2 * H + j] = dan * r[t][j];
            dprev[j] = dh[j] * z[t][j];  // through z * h_{t-1}
        }
        for (std::size_t j = 0; j < H; ++j)  // ... and through the gates: dgh W_hh
            for (std::size_t g = 0; g < 3 * H; ++g) dprev[j] += dgh[g] * w_hh[g * H + j];
        for (std::size_t g = 0; g < 3 * H; ++g) {
            dw_ih[g] += dgi[g] * x[t - 1];
            for (std::size_t j = 0; j < H; ++j) dw_hh[g * H + j] += dgh[g] * h[t - 1][j];
            db_ih[g] += dgi[g];
            db_hh[g] += dgh[g];
            dx[t - 1] += dgi[g] * w_ih[g];
        }
        std::cout << "  t=" << t << "  dh " << vec(dh) << "  da_r " << vec(dgi, 0) << "  da_z " << vec(dgi, H)
                  << "  da_n " << vec(dgi, 2 * H) << "  dh_" << t - 1 << " " << vec(dprev) << "\n";
        carried = dprev;
    }

    // The fused layer: one tape entry for the whole sequence.
    Tensor X(to_array(x, {1, T, 1}), true), H0(to_array(h0, {1, H}), true);
    Tensor Wih(to_array(w_ih, {3 * H, 1}), true), Whh(to_array(w_hh, {3 * H, H}), true);
    Tensor Bih(to_array(b_ih, {3 * H}), true), Bhh(to_array(b_hh, {3 * H}), true);
    sum(gru_layer(X, H0, Wih, Whh, Bih, Bhh, {T}, false)).backward();
    std::cout << "gradients, by hand and from gru_layer's backward\n";
    bool ok = compare("dW_ih", dw_ih, Wih);
    ok = compare("dW_hh", dw_hh, Whh) && ok;
    ok = compare("db_ih", db_ih, Bih) && ok;
    ok = compare("db_hh", db_hh, Bhh) && ok;
    ok = compare("dx", dx, X) && ok;
    ok = compare("dh_0", carried, H0) && ok;
    std::cout << (ok ? "GRU: all agree to 1e-5\n\n" : "GRU: DISAGREE\n\n");
    return ok;
}

bool lstm() {
    // Rows in PyTorch's order: i, f, g, o (2 rows each).
    const Vec w_ih = {0.4, -0.2, 0.6, 0.3, -0.5, 0.7, 0.2, -0.1};                                  // [4H, 1]
    const Vec w_hh = {0.1, 0.2, -0.3, 0.1, 0.2, -0.1, 0.4, 0.3, -0.2, 0.5, 0.1, -0.4, 0.3, 0.2, -0.1, 0.1};  // [4H, H]
    const Vec b = {0.0, 0.1, 1.0, 1.0, 0.0, -0.1, 0.1, 0.0}, b_zero(4 * H, 0.0);
    const Vec c0 = {0.5, -0.3};
    std::cout << "LSTM (hidden size 2, input size 1, T = 2; L = sum over t and j of h_t[j]; b_hh = 0)\n";
    print_weights("ifgo", w_ih, w_hh, b, nullptr);
    std::cout << "  x = (1, -0.5), h_0 = " << vec(h0) << ", c_0 = " << vec(c0) << "\n";

    std::vector<Vec> h(T + 1), c(T + 1), gates(T + 1, Vec(4 * H)), tc(T + 1, Vec(H));
    h[0] = h0;
    c[0] = c0;
    std::cout << "forward\n";
    for (std::size_t t = 1; t <= T; ++t) {
        const Vec a = affine(w_hh, h[t - 1], affine(w_ih, {x[t - 1]}, b));
        Vec& q = gates[t];
        h[t].resize(H);
        c[t].resize(H);
        for (std::size_t j = 0; j < H; ++j) {
            q[j] = sigmoid(a[j]);                  // i
            q[H + j] = sigmoid(a[H + j]);          // f
            q[2 * H + j] = std::tanh(a[2 * H + j]);  // g
            q[3 * H + j] = sigmoid(a[3 * H + j]);  // o
            c[t][j] = q[H + j] * c[t - 1][j] + q[j] * q[2 * H + j];
            tc[t][j] = std::tanh(c[t][j]);
            h[t][j] = q[3 * H + j] * tc[t][j];
        }
        std::cout << "  t=" << t << "  i " << vec(q, 0) << "  f " << vec(q, H) << "  g " << vec(q, 2 * H) << "  o "
                  << vec(q, 3 * H) << "  c " << vec(c[t]) << "  h " << vec(h[t]) << "\n";
    }

    Vec dw_ih(4 * H, 0.0), dw_hh(4 * H * H, 0.0), db(4 * H, 0.0), dx(T, 0.0);
    Vec carried_h(H, 0.0), carried_c(H, 0.0);
    std::cout << "backward\n";
    for (std::size_t t = T; t >= 1; --t) {
        const Vec& q = gates[t];
        Vec dh(H), dct(H), da(4 * H), dhprev(H, 0.0), dcprev(H);
        for (std::size_t j = 0; j < H; ++j) {
            dh[j] = 1.0 + carried_h[j];
            dct[j] = carried_c[j] + dh[j] * q[3 * H + j] * (1 - tc[t][j] * tc[t][j]);
            da[j] = dct[j] * q[2 * H + j] * q[j] * (1 - q[j]);
            da[H + j] = dct[j] * c[t - 1][j] * q[H + j] * (1 - q[H + j]);
            da[2 * H + j] = dct[j] * q[j] * (1 - q[2 * H + j] * q[2 * H + j]);
            da[3 * H + j] = dh[j] * tc[t][j] * q[3 * H + j] * (1 - q[3 * H + j]);
            dcprev[j] = dct[j] * q[H + j];
        }
        for (std::size_t j = 0; j < H; ++j)
            for (std::size_t g = 0; g < 4 * H; ++g) dhprev[j] += da[g] * w_hh[g * H + j];
        for (std::size_t g = 0; g < 4 * H; ++g) {
            dw_ih[g] += da[g] * x[t - 1];
            for (std::size_t j = 0; j < H; ++j) dw_hh[g * H + j] += da[g] * h[t - 1][j];
            db[g] += da[g];
            dx[t - 1] += da[g] * w_ih[g];
        }
        std::cout << "  t=" << t << "  dh " << vec(dh) << "  dc' " << vec(dct) << "  da_f " << vec(da, H) << "  dh_"
                  << t - 1 << " " << vec(dhprev) << "  dc_" << t - 1 << " " << vec(dcprev) << "\n";
        carried_h = dhprev;
        carried_c = dcprev;
    }

    Tensor X(to_array(x, {1, T, 1}), true), H0(to_array(h0, {1, H}), true), C0(to_array(c0, {1, H}), true);
    Tensor Wih(to_array(w_ih, {4 * H, 1}), true), Whh(to_array(w_hh, {4 * H, H}), true);
    Tensor Bih(to_array(b, {4 * H}), true), Bhh(to_array(b_zero, {4 * H}), true);
    const Tensor out = lstm_layer(X, H0, C0, Wih, Whh, Bih, Bhh, {T}, false);  // [1, T, 2H]: h, then c
    Array seed = zeros({1, T, 2 * H});
    for (std::size_t t = 0; t < T; ++t)
        for (std::size_t j = 0; j < H; ++j) seed(0, t, j) = 1.0f;  // L counts h only, not c
    out.backward(seed);
    std::cout << "gradients, by hand and from lstm_layer's backward\n";
    bool ok = compare("dW_ih", dw_ih, Wih);
    ok = compare("dW_hh", dw_hh, Whh) && ok;
    ok = compare("db", db, Bih) && ok;
    ok = compare("dx", dx, X) && ok;
    ok = compare("dh_0", carried_h, H0) && ok;
    ok = compare("dc_0", carried_c, C0) && ok;
    std::cout << (ok ? "LSTM: all agree to 1e-5\n" : "LSTM: DISAGREE\n");
    return ok;
}

}  // namespace

int main() {
    set_num_threads(1);
    const bool gru_ok = gru();
    const bool lstm_ok = lstm();
    const bool ok = gru_ok && lstm_ok;
    return ok ? 0 : 1;
}
