// A downstream program: fits y = 3 x1 - 2 x2 + 1 with a Linear layer and Adam,
// through tapegrad's tape, and lists the models tapegrad-vae's CLI knows.
// Builds against an installed tapegrad or the source tree (meson.build here).
#include <iostream>

#include "autograd/autograd.hpp"
#include "models/cli/registry.hpp"
#include "nn/nn.hpp"

using namespace tapegrad;

int main() {
    autograd::manual_seed(1);
    const Array x = autograd::randn({256, 2});
    const Array y = 3.0f * xt::view(x, xt::all(), xt::range(0, 1)) - 2.0f * xt::view(x, xt::all(), xt::range(1, 2)) + 1.0f;
    nn::Linear layer(2, 1);
    nn::Adam adam(layer.parameters(), {.lr = 0.05f});
    float loss = 0.0f;
    for (int step = 0; step < 300; ++step) {
        autograd::Tensor l = autograd::mse_loss(layer(autograd::Tensor(x)), autograd::Tensor(y));
        adam.zero_grad();
        l.backward();
        adam.step();
        loss = l.item();
    }
    std::cout << "fitted: weight " << layer.weight.value() << ", bias " << layer.bias.value() << ", mse " << loss << "\n";
    models::cli::register_builtin_models();
    std::cout << "tapegrad-vae models:";
    for (const auto& name : models::cli::model_names()) std::cout << ' ' << name;
    std::cout << "\n";
    return loss < 1e-3f ? 0 : 1;
}
