// GRU and LSTM: against PyTorch (1 layer; 2 layers bidirectional with variable
// lengths), fused against composed, padding never matters, cells by finite differences.
#include "nn/nn.hpp"
#include "tests/support/check.hpp"
#include "tests/support/fixtures.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using autograd::Tensor;
using tapegrad::testing::check_gradients;
using tapegrad::testing::fixture;
using tapegrad::testing::fixture_ids;
using tapegrad::testing::random_array;

namespace {

std::vector<std::size_t> lengths_of(const Indices& l) { return std::vector<std::size_t>(l.begin(), l.end()); }

void load_weights(Module& m, const std::string& group) {
    for (auto& [name, t] : m.named_parameters()) t.mutable_value() = fixture(group, name);
}

void check_weight_grads(Module& m, const std::string& group) {
    for (auto& [name, t] : m.named_parameters()) {
        INFO("parameter " << name);
        CHECK_TORCH(t.grad(), fixture(group, "grad_" + name));
    }
}

template <class RNN>
RNNOptions opts(std::size_t layers, bool bi) {
    RNNOptions o;
    o.input_size = 4;
    o.hidden_size = 3;
    o.num_layers = layers;
    o.bidirectional = bi;
    return o;
}

void gru_against_torch(const std::string& group, std::size_t layers, bool bi, bool fused, bool varlen) {
    GRU gru(opts<GRU>(layers, bi));
    gru.fused = fused;
    load_weights(gru, group);
    Tensor x(fixture(group, "x"), true), h0(fixture(group, "h0"), true);
    const auto lengths = varlen ? lengths_of(fixture_ids(group, "lengths")) : std::vector<std::size_t>{};
    GRUOutput out = gru.forward(x, lengths, h0);
    CHECK_TORCH(out.output.value(), fixture(group, "output"));
    CHECK_TORCH(out.last.value(), fixture(group, "h_n"));
    Tensor loss = autograd::sum(out.output * Tensor(fixture(group, "g_output"))) +
                  autograd::sum(out.last * Tensor(fixture(group, "g_h_n")));
    loss.backward();
    CHECK_TORCH(x.grad(), fixture(group, "grad_x"));
    CHECK_TORCH(h0.grad(), fixture(group, "grad_h0"));
    check_weight_grads(gru, group);
}

void lstm_against_torch(const std::string& group, std::size_t layers, bool bi, bool fused, bool varlen) {
    LSTM lstm(opts<LSTM>(layers, bi));
    lstm.fused = fused;
    load_weights(lstm, group);
    Tensor x(fixture(group, "x"), true), h0(fixture(group, "h0"), true), c0(fixture(group, "c0"), true);
    const auto lengths = varlen ? lengths_of(fixture_ids(group, "lengths")) : std::vector<std::size_t>{};
    LSTMOutput out = lstm.forward(x, lengths, h0, c0);
    CHECK_TORCH(out.output.value(), fixture(group, "output"));
    CHECK_TORCH(out.last_h.value(), fixture(group, "h_n"));
    CHECK_TORCH(out.last_c.value(), fixture(group, "c_n"));
    Tensor loss = autograd::sum(out.output * Tensor(fixture(group, "g_output"))) +
                  autograd::sum(out.last_h * Tensor(fixture(group, "g_h_n"))) +
                  autograd::sum(out.last_c * Tensor(fixture(group, "g_c_n")));
    loss.backward();
    CHECK_TORCH(x.grad(), fixture(group, "grad_x"));
    CHECK_TORCH(h0.grad(), fixture(group, "grad_h0"));
    CHECK_TORCH(c0.grad(), fixture(group, "grad_c0"));
    check_weight_grads(lstm, group);
}

}  // namespace

TEST_CASE("GRU: one layer matches PyTorch (fused and composed)") {
    for (bool fused : {true, false}) {
        INFO("fused = " << fused);
        gru_against_torch("gru_1layer", 1, false, fused, false);
    }
}

TEST_CASE("GRU: two bidirectional layers with variable lengths match PyTorch's packed sequences") {
    for (bool fused : {true, false}) {
        INFO("fused = " << fused);
        gru_against_torch("gru_2layer_bi_varlen", 2, true, fused, true);
    }
}

TEST_CASE("LSTM: one layer matches PyTorch (fused and composed)") {
    for (bool fused : {true, false}) {
        INFO("fused = " << fused);
        lstm_against_torch("lstm_1layer", 1, false, fused, false);
    }
}

TEST_CASE("LSTM: two bidirectional layers with variable lengths match PyTorch's packed sequences") {
    for (bool fused : {true, false}) {
        INFO("fused = " << fused);
        lstm_against_torch("lstm_2layer_bi_varlen", 2, true, fused, true);
    }
}

TEST_CASE("GRU: parameter names and shapes follow PyTorch") {
    RNNOptions o;
    o.input_size = 5;
    o.hidden_size = 4;
    o.num_layers = 2;
    o.bidirectional = true;
    GRU gru(o);
    auto named = gru.named_parameters();
    REQUIRE(named.size() == 16);
    CHECK(named[0].first == "weight_ih_l0");
    CHECK(named[0].second.shape() == Shape{12, 5});
    CHECK(named[4].first == "weight_ih_l0_reverse");
    CHECK(named[8].first == "weight_ih_l1");
    CHECK(named[8].second.shape() == Shape{12, 8});
    CHECK(named[15].first == "bias_hh_l1_reverse");
}

TEST_CASE("GRU: padding never changes a result") {
    autograd::manual_seed(3);
    RNNOptions o;
    o.input_size = 3;
    o.hidden_size = 4;
    o.bidirectional = true;
    GRU gru(o);
    const std::vector<std::size_t> lengths = {2, 5, 3};
    Array x = random_array({3, 5, 3}, 100);
    Array y = x;
    for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t t = lengths[b]; t < 5; ++t)
            for (std::size_t k = 0; k < 3; ++k) y(b, t, k) = 100.0f + static_cast<float>(t);  // garbage in the padding
    for (bool fused : {true, false}) {
        gru.fused = fused;
        autograd::NoGradGuard no_grad;
        GRUOutput a = gru.forward(Tensor(x), lengths), b = gru.forward(Tensor(y), lengths);
        CHECK_ARRAY_EQ(a.output.value(), b.output.value());
        CHECK_ARRAY_EQ(a.last.value(), b.last.value());
        CHECK(a.output.value()(0, 3, 1) == 0.0f);  // zeros at padded positions
    }
}

TEST_CASE("GRU: fused and composed agree on a larger random case, values and gradients") {
    autograd::manual_seed(5);
    RNNOptions o;
    o.input_size = 6;
    o.hidden_size = 5;
    o.num_layers = 2;
    o.bidirectional = true;
    GRU gru(o);
    const std::vector<std::size_t> lengths = {7, 1, 4, 7, 2};
    const Array x = random_array({5, 7, 6}, 101), h0 = random_array({4, 5, 5}, 102), w = random_array({5, 7, 10}, 103);
    std::vector<Array> grads[2];
    Array outs[2];
    for (int fused = 0; fused < 2; ++fused) {
        gru.fused = fused;
        gru.zero_grad();
        Tensor xt(x, true), ht(h0, true);
        GRUOutput out = gru.forward(xt, lengths, ht);
        outs[fused] = out.output.value();
        (autograd::sum(out.output * Tensor(w)) + autograd::sum(out.last * out.last)).backward();
        grads[fused].push_back(xt.grad());
        grads[fused].push_back(ht.grad());
        for (auto& p : gru.parameters()) grads[fused].push_back(p.grad());
    }
    CHECK_CLOSE(outs[1], outs[0], 1e-5, 1e-6);
    for (std::size_t i = 0; i < grads[0].size(); ++i) {
        INFO("gradient " << i);
        CHECK_CLOSE(grads[1][i], grads[0][i], 1e-4, 1e-6);
    }
}

TEST_CASE("GRUCell and LSTMCell: gradients by finite differences") {
    autograd::manual_seed(6);
    GRUCell cell(3, 4);
    check_gradients([&](const std::vector<Tensor>& v) { return cell.forward(v[0], v[1]); },
                    {random_array({2, 3}, 104), random_array({2, 4}, 105)});
    LSTMCell lcell(3, 4);
    check_gradients([&](const std::vector<Tensor>& v) {
        LSTMState s = lcell.forward(v[0], {v[1], v[2]});
        return autograd::concat({s.h, s.c}, 1);
    }, {random_array({2, 3}, 106), random_array({2, 4}, 107), random_array({2, 4}, 108)});
}

TEST_CASE("gru_layer and lstm_layer: gradients of every input by finite differences") {
    const std::vector<std::size_t> lengths = {3, 1, 2};
    for (bool reverse : {false, true}) {
        check_gradients([&](const std::vector<Tensor>& v) {
            return autograd::gru_layer(v[0], v[1], v[2], v[3], v[4], v[5], lengths, reverse);
        }, {random_array({3, 3, 2}, 110), random_array({3, 2}, 111), random_array({6, 2}, 112), random_array({6, 2}, 113),
            random_array({6}, 114), random_array({6}, 115)});
        check_gradients([&](const std::vector<Tensor>& v) {
            return autograd::lstm_layer(v[0], v[1], v[2], v[3], v[4], v[5], v[6], lengths, reverse);
        }, {random_array({3, 3, 2}, 116), random_array({3, 2}, 117), random_array({3, 2}, 118), random_array({8, 2}, 119),
            random_array({8, 2}, 120), random_array({8}, 121), random_array({8}, 122)});
    }
}

TEST_CASE("GRU: bad inputs name the problem") {
    RNNOptions o;
    o.input_size = 3;
    o.hidden_size = 2;
    GRU gru(o);
    CHECK_THROWS_WITH_AS(gru.forward(Tensor(zeros({2, 4, 5}))), doctest::Contains("input must be [B, T, 3], got [2, 4, 5]"), Error);
    CHECK_THROWS_WITH_AS(gru.forward(Tensor(zeros({2, 4, 3})), {4, 0}), doctest::Contains("length 0 of sequence 1"), Error);
    CHECK_THROWS_WITH_AS(gru.forward(Tensor(zeros({2, 4, 3})), {}, Tensor(zeros({1, 3, 2}))),
                         doctest::Contains("initial state [1, 3, 2] must be [1, 2, 2]"), Error);
}

TEST_CASE("GRU: inter-layer dropout is active in training only") {
    autograd::manual_seed(7);
    RNNOptions o;
    o.input_size = 3;
    o.hidden_size = 8;
    o.num_layers = 2;
    o.dropout = 0.5f;
    GRU gru(o);
    Tensor x(random_array({2, 4, 3}, 123));
    autograd::NoGradGuard no_grad;
    gru.eval();
    Array a = gru.forward(x).output.value(), b = gru.forward(x).output.value();
    CHECK_ARRAY_EQ(a, b);
    gru.train();
    Array c = gru.forward(x).output.value();
    CHECK_FALSE(tapegrad::testing::compare(c, a, 0.0, 1e-6).ok);
}
