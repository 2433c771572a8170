// LayerNorm, MultiheadAttention, the Transformer layers and stacks, the position
// table and the warm-up schedule, against PyTorch 1.13 fixtures (values and the
// gradient of every input and parameter), and their parameter names and order.
#include "nn/nn.hpp"
#include "tests/support/check.hpp"
#include "tests/support/fixtures.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using autograd::Tensor;
using tapegrad::testing::fixture;
using tapegrad::testing::fixture_ids;

namespace {

std::vector<std::size_t> lengths(const std::string& group, const std::string& name) {
    const Indices l = fixture_ids(group, name);
    return std::vector<std::size_t>(l.begin(), l.end());
}

// The additive padding mask of a fixture's lengths, checked against its bool mask.
Tensor padding(const std::string& group, const std::string& lengths_name, const std::string& mask_name) {
    const auto l = lengths(group, lengths_name);
    const Indices expected = fixture_ids(group, mask_name);
    const Array mask = autograd::padding_mask(l, expected.shape()[1]);
    for (std::size_t i = 0; i < mask.size(); ++i) CHECK((mask.data()[i] != 0.0f) == (expected.data()[i] != 0));
    return Tensor(mask);
}

void load(Module& m, const std::string& group) {
    for (auto& [name, t] : m.named_parameters()) t.mutable_value() = fixture(group, name);
}

void check_parameter_grads(Module& m, const std::string& group) {
    for (auto& [name, t] : m.named_parameters()) {
        INFO("parameter " << name);
        CHECK_TORCH(t.grad(), fixture(group, "grad_" + name));
    }
}

Tensor weighted(const Tensor& y, const std::string& group, const std::string& name) {
    return autograd::sum(y * Tensor(fixture(group, name)));
}

TransformerLayerOptions layer_options(const std::string& suffix) {
    TransformerLayerOptions o;
    o.d_model = 8;
    o.nhead = 2;
    o.dim_feedforward = 16;
    o.dropout = 0.0f;
    o.activation = suffix.starts_with("gelu") ? Activation::gelu : Activation::relu;
    o.norm_first = suffix.ends_with("pre");
    return o;
}

}  // namespace

TEST_CASE("LayerNorm: matches PyTorch; weight 1 and bias 0 at first") {
    LayerNorm norm(8);
    CHECK(norm.weight.value() == ones({8}));
    CHECK(norm.bias.value() == zeros({8}));
    load(norm, "layer_norm_module");
    Tensor x(fixture("layer_norm_module", "x"), true);
    Tensor y = norm(x);
    CHECK_TORCH(y.value(), fixture("layer_norm_module", "y"));
    weighted(y, "layer_norm_module", "g_y").backward();
    CHECK_TORCH(x.grad(), fixture("layer_norm_module", "grad_x"));
    check_parameter_grads(norm, "layer_norm_module");
    CHECK_THROWS_WITH_AS(norm(Tensor(zeros({2, 7}))), "LayerNorm: input [2, 7] does not end in 8", Error);
}

TEST_CASE("MultiheadAttention: self-attention with key padding or a causal mask, and cross-attention, match PyTorch") {
    for (const std::string group : {"mha_self_padding", "mha_self_causal", "mha_cross"}) {
        CAPTURE(group);
        MultiheadAttention mha(8, 2);
        load(mha, group);
        const bool cross = group == "mha_cross";
        Tensor q, k, v;
        if (cross) {
            q = Tensor(fixture(group, "query"), true), k = Tensor(fixture(group, "key"), true);
            v = Tensor(fixture(group, "value"), true);
        } else {
            q = k = v = Tensor(fixture(group, "x"), true);
        }
        const Tensor attn_mask = group == "mha_self_causal" ? Tensor(fixture(group, "attn_mask")) : Tensor();
        const Tensor kpm = group == "mha_self_causal" ? Tensor() : padding(group, "lengths", "key_padding_mask");
        AttentionOutput out = mha.forward(q, k, v, attn_mask, kpm, /*need_weights=*/true);
        CHECK_TORCH(out.output.value(), fixture(group, "output"));
        CHECK_TORCH(out.weights.value(), fixture(group, "attn_weights"));
        (weighted(out.output, group, "g_output") + weighted(out.weights, group, "g_attn_weights")).backward();
        if (cross) {
            CHECK_TORCH(q.grad(), fixture(group, "grad_query"));
            CHECK_TORCH(k.grad(), fixture(group, "grad_key"));
            CHECK_TORCH(v.grad(), fixture(group, "grad_value"));
        } else {
            CHECK_TORCH(q.grad(), fixture(group, "grad_x"));
        }
        check_parameter_grads(mha, group);
    }
    CHECK_THROWS_WITH_AS(MultiheadAttention(10, 3),
                         "MultiheadAttention: embed_dim 10 must be a positive multiple of num_heads 3", Error);
}

TEST_CASE("TransformerEncoderLayer: post-LN and pre-LN, ReLU and GELU, with key padding, match PyTorch") {
    for (const std::string suffix : {"relu_post", "relu_pre", "gelu_post", "gelu_pre"}) {
        const std::string group = "encoder_layer_" + suffix;
        CAPTURE(group);
        TransformerEncoderLayer layer(layer_options(suffix));
        load(layer, group);
        Tensor src(fixture(group, "src"), true);
        Tensor y = layer.forward(src, Tensor(), padding(group, "src_lengths", "src_key_padding_mask"));
        CHECK_TORCH(y.value(), fixture(group, "output"));
        weighted(y, group, "g_output").backward();
        CHECK_TORCH(src.grad(), fixture(group, "grad_src"));
        check_parameter_grads(layer, group);
    }
}

TEST_CASE("TransformerDecoderLayer: post-LN and pre-LN, ReLU and GELU, causal and padding masks, match PyTorch") {
    for (const std::string suffix : {"relu_post", "relu_pre", "gelu_post", "gelu_pre"}) {
        const std::string group = "decoder_layer_" + suffix;
        CAPTURE(group);
        TransformerDecoderLayer layer(layer_options(suffix));
        load(layer, group);
        Tensor tgt(fixture(group, "tgt"), true), memory(fixture(group, "memory"), true);
        const Tensor causal(autograd::causal_mask(4));
        CHECK(causal.value() == fixture(group, "tgt_mask"));
        Tensor y = layer.forward(tgt, memory, causal, padding(group, "tgt_lengths", "tgt_key_padding_mask"),
                                 padding(group, "memory_lengths", "memory_key_padding_mask"));
        CHECK_TORCH(y.value(), fixture(group, "output"));
        weighted(y, group, "g_output").backward();
        CHECK_TORCH(tgt.grad(), fixture(group, "grad_tgt"));
        CHECK_TORCH(memory.grad(), fixture(group, "grad_memory"));
        check_parameter_grads(layer, group);
    }
}

TEST_CASE("TransformerEncoder and TransformerDecoder: two layers and a final norm match PyTorch") {
    {
        TransformerEncoder encoder(layer_options("relu_post"), 2);
        load(encoder, "encoder_stack");
        Tensor src(fixture("encoder_stack", "src"), true);
        Tensor y = encoder.forward(src, Tensor(), padding("encoder_stack", "src_lengths", "src_key_padding_mask"));
        CHECK_TORCH(y.value(), fixture("encoder_stack", "output"));
        weighted(y, "encoder_stack", "g_output").backward();
        CHECK_TORCH(src.grad(), fixture("encoder_stack", "grad_src"));
        check_parameter_grads(encoder, "encoder_stack");
    }
    TransformerDecoder decoder(layer_options("relu_post"), 2);
    load(decoder, "decoder_stack");
    Tensor tgt(fixture("decoder_stack", "tgt"), true), memory(fixture("decoder_stack", "memory"), true);
    Tensor y = decoder.forward(tgt, memory, Tensor(autograd::causal_mask(4)),
                               padding("decoder_stack", "tgt_lengths", "tgt_key_padding_mask"),
                               padding("decoder_stack", "memory_lengths", "memory_key_padding_mask"));
    CHECK_TORCH(y.value(), fixture("decoder_stack", "output"));
    weighted(y, "decoder_stack", "g_output").backward();
    CHECK_TORCH(tgt.grad(), fixture("decoder_stack", "grad_tgt"));
    CHECK_TORCH(memory.grad(), fixture("decoder_stack", "grad_memory"));
    check_parameter_grads(decoder, "decoder_stack");
}

// The packed path (nn::Packing) against the padded one: the same outputs at the real
// positions, and the same gradients for every parameter and input under a loss that
// reads the real positions only (a pad's output feeds nothing in a model).
namespace {

std::vector<Array> parameter_grads(Module& m) {
    std::vector<Array> g;
    for (auto& [name, t] : m.named_parameters()) g.push_back(t.grad());
    m.zero_grad();
    return g;
}

void check_same_grads(const std::vector<Array>& a, const std::vector<Array>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK_CLOSE(a[i], b[i], 1e-5, 1e-6);
}

}  // namespace

TEST_CASE("Packing: a packed batch gives the padded batch's numbers and gradients at the real positions") {
    const std::vector<std::size_t> lens = {4, 2, 3};  // B = 3, L = 4
    const Packing packing(lens, 4);
    REQUIRE(packing.size() == 9);
    CHECK(packing.rows(6) == 8);  // sentence 2, position 0 (after 4 + 2 rows): padded row 2 * 4 + 0
    const Array x = testing::random_array({3, 4, 8}, 71);
    Array real_only = x;  // pad(pack(x)): x at the real positions, zeros at the pads
    for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t t = lens[b]; t < 4; ++t)
            for (std::size_t d = 0; d < 8; ++d) real_only(b, t, d) = 0.0f;
    CHECK_ARRAY_EQ(packing.pad(packing.pack(Tensor(x))).value(), real_only);
    const Array g = testing::random_array({9, 8}, 72);
    for (const std::string suffix : {"relu_post", "gelu_pre"}) {
        CAPTURE(suffix);
        {
            TransformerEncoderLayer layer(layer_options(suffix));
            Tensor padded(x, true);
            const Tensor y = packing.pack(layer.forward(padded, Tensor(), packing.key_padding_mask));
            autograd::sum(y * Tensor(g)).backward();
            const auto expected = parameter_grads(layer);
            Tensor packed(packing.pack(Tensor(x)).value(), true);
            const Tensor y2 = layer.forward(packed, packing);
            CHECK_CLOSE(y2.value(), y.value(), 1e-5, 1e-6);
            autograd::sum(y2 * Tensor(g)).backward();
            check_same_grads(parameter_grads(layer), expected);
            CHECK_CLOSE(packed.grad(), packing.pack(Tensor(padded.grad())).value(), 1e-5, 1e-6);
        }
        {
            TransformerDecoderLayer layer(layer_options(suffix));
            const Array mem = testing::random_array({3, 2, 8}, 73);
            const Tensor memory_padding(autograd::padding_mask({2, 1, 2}, 2));
            const Tensor causal(autograd::causal_mask(4));
            Tensor padded(x, true), memory(mem, true);
            const Tensor y = packing.pack(layer.forward(padded, memory, causal, packing.key_padding_mask, memory_padding));
            autograd::sum(y * Tensor(g)).backward();
            const Array expected_memory_grad = memory.grad();
            const auto expected = parameter_grads(layer);
            Tensor packed(packing.pack(Tensor(x)).value(), true), memory2(mem, true);
            const Tensor y2 = layer.forward(packed, packing, memory2, causal, memory_padding);
            CHECK_CLOSE(y2.value(), y.value(), 1e-5, 1e-6);
            autograd::sum(y2 * Tensor(g)).backward();
            check_same_grads(parameter_grads(layer), expected);
            CHECK_CLOSE(packed.grad(), packing.pack(Tensor(padded.grad())).value(), 1e-5, 1e-6);
            CHECK_CLOSE(memory2.grad(), expected_memory_grad, 1e-5, 1e-6);
        }
    }
    CHECK_THROWS_WITH_AS(Packing({5}, 4), doctest::Contains("a sequence of 5 positions does not fit a padded length of 4"),
                         Error);
    TransformerEncoderLayer layer(layer_options("relu_post"));
    CHECK_THROWS_WITH_AS(layer.forward(Tensor(x), packing), doctest::Contains("a packed batch must be [9, 8]"), Error);
}

TEST_CASE("Transformer layers: PyTorch's parameter names and order, and a stack's identical first weights") {
    TransformerEncoderLayer enc(layer_options("relu_post"));
    std::vector<std::string> names;
    for (auto& [name, t] : enc.named_parameters()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias",
                                            "self_attn.out_proj.weight", "self_attn.out_proj.bias", "linear1.weight",
                                            "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                                            "norm1.bias", "norm2.weight", "norm2.bias"});
    TransformerDecoder dec(layer_options("gelu_pre"), 2);
    const auto params = dec.named_parameters();
    CHECK(params.size() == 2 * 18 + 2);
    CHECK(params[18].first == "layers.1.self_attn.in_proj_weight");
    CHECK(params.back().first == "norm.bias");
    CHECK(params[0].second.value() == params[18].second.value());  // deep copies of one layer, as PyTorch
    TransformerDecoder independent(layer_options("gelu_pre"), 2, true, /*independent_init=*/true);
    CHECK_FALSE(independent.named_parameters()[0].second.value() == independent.named_parameters()[18].second.value());
    MultiheadAttention mha(8, 2);
    CHECK(mha.in_proj_bias.value() == zeros({24}));
    CHECK(mha.out_proj.bias.value() == zeros({8}));
}

TEST_CASE("sinusoidal_positions and LinearWarmup: the table and the schedule of the fixtures") {
    CHECK_TORCH(sinusoidal_positions(10, 8), fixture("positional_encoding", "pe"));
    for (long warmup : {4L, 0L}) {
        Tensor p(zeros({1}), true);
        SGD sgd({p}, {.lr = 5e-4f});
        LinearWarmup schedule(sgd, warmup);
        const Array expected = fixture("lr_warmup", warmup ? "lr" : "lr_off");
        for (std::size_t t = 0; t < expected.size(); ++t) {
            CHECK(sgd.lr == doctest::Approx(expected(t)).epsilon(1e-6));
            schedule.step();
        }
    }
}
