// Module: registration order, dotted names, train/eval, parameter lookup.
#include "nn/nn.hpp"
#include "tests/support/check.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {
struct Block : Module {
    Block() {
        register_module("fc", fc);
        register_module("drop", drop);
        scale = register_parameter("scale", ones({2}));
    }
    Linear fc{3, 2};
    Dropout drop{0.5f};
    Tensor scale;
};
struct Net : Module {
    Net() {
        register_module("embed", embed);
        register_module("block", block);
    }
    Embedding embed{5, 3};
    Block block;
};
}  // namespace

TEST_CASE("Module: named_parameters gives dotted names in PyTorch's order (own first, then submodules, each in registration order)") {
    Net net;
    std::vector<std::string> names;
    for (auto& [n, t] : net.named_parameters()) names.push_back(n);
    CHECK(names == std::vector<std::string>{"embed.weight", "block.scale", "block.fc.weight", "block.fc.bias"});
    CHECK(net.num_parameters() == 5 * 3 + 3 * 2 + 2 + 2);
    CHECK(net.parameters().size() == 4);
    // Parameters carry their full name, so the printed tape shows it.
    CHECK(net.block.fc.weight.name() == "block.fc.weight");
    CHECK(net.parameter("block.scale").shape() == Shape{2});
    CHECK_THROWS_WITH_AS(net.parameter("block.nope"), doctest::Contains("parameters: embed.weight, block.scale, block.fc.weight"), Error);
}

TEST_CASE("Module: train and eval reach every submodule") {
    Net net;
    CHECK(net.block.drop.is_training());
    net.eval();
    CHECK_FALSE(net.is_training());
    CHECK_FALSE(net.block.drop.is_training());
    Tensor x(ones({4, 2}));
    CHECK_ARRAY_EQ(net.block.drop(x).value(), ones({4, 2}));  // identity in eval mode
    net.train();
    CHECK(net.block.drop.is_training());
}

TEST_CASE("Module: zero_grad drops every gradient") {
    Net net;
    Indices ids = {1, 2};
    autograd::sum(net.block.fc(net.embed(ids)) * net.block.scale).backward();
    CHECK(net.block.fc.weight.has_grad());
    CHECK(net.embed.weight.has_grad());
    net.zero_grad();
    for (auto& t : net.parameters()) CHECK_FALSE(t.has_grad());
}

TEST_CASE("Module: duplicate registration names are refused") {
    struct Bad : Module {
        Bad() {
            register_parameter("w", ones({1}));
            register_parameter("w", ones({1}));
        }
    };
    CHECK_THROWS_WITH_AS(Bad(), doctest::Contains("'w' already exists"), Error);
}
