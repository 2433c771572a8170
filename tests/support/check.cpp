#include "tests/support/check.hpp"

#include <cmath>
#include <random>
#include <sstream>

namespace tapegrad::testing {

Array random_array(const Shape& shape, std::uint64_t seed, float lo, float hi) {
    std::mt19937_64 g(seed);
    Array a = Array::from_shape(shape);
    for (float& v : a) v = lo + (hi - lo) * static_cast<float>(static_cast<double>(g() >> 11) * 0x1.0p-53);
    return a;
}

Closeness compare(const Array& actual, const Array& expected, double rtol, double atol) {
    Closeness c;
    std::ostringstream os;
    if (actual.shape() != expected.shape()) {
        os << "shape mismatch: actual " << shape_str(actual.shape()) << " vs expected " << shape_str(expected.shape());
        c.report = os.str();
        return c;
    }
    double worst = -1.0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        const double a = actual.data()[i], e = expected.data()[i];
        const double excess = std::isnan(a) != std::isnan(e) ? INFINITY : std::abs(a - e) - rtol * std::abs(e);
        if (!(excess <= worst)) {
            worst = excess;
            at = i;
        }
    }
    c.ok = actual.size() == 0 || worst <= atol;
    os << "shape " << shape_str(actual.shape()) << ", worst element #" << at;
    if (actual.size()) os << ": actual " << actual.data()[at] << " vs expected " << expected.data()[at];
    os << " (rtol " << rtol << ", atol " << atol << ")";
    c.report = os.str();
    return c;
}

namespace {
double weighted_sum(const Array& y, const Array& w) {
    double s = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y.data()[i]) * w.data()[i];
    return s;
}
}  // namespace

void check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Array>& inputs,
                     GradcheckOptions o) {
    using namespace autograd;
    // The tape's gradients.
    std::vector<Tensor> xs;
    for (const Array& a : inputs) xs.emplace_back(a, true);
    Tensor y = f(xs);
    const Array w = random_array(y.shape(), 12345, 0.5f, 1.5f);
    y.backward(w);

    for (std::size_t k = 0; k < inputs.size(); ++k) {
        Array numeric = Array::from_shape(inputs[k].shape());
        for (std::size_t i = 0; i < inputs[k].size(); ++i) {
            auto loss_at = [&](float value) {
                NoGradGuard no_grad;
                std::vector<Tensor> shifted;
                for (std::size_t j = 0; j < inputs.size(); ++j) shifted.emplace_back(inputs[j]);
                Array moved = inputs[k];
                moved.data()[i] = value;
                shifted[k] = Tensor(moved);
                return weighted_sum(f(shifted).value(), w);
            };
            // Divide by the step actually taken in float, not the one intended.
            const double x = inputs[k].data()[i];
            const float up = static_cast<float>(x + o.h), down = static_cast<float>(x - o.h);
            numeric.data()[i] = static_cast<float>((loss_at(up) - loss_at(down)) / (double(up) - double(down)));
        }
        const Array analytic = xs[k].has_grad() ? xs[k].grad() : zeros(shape_of(inputs[k]));
        INFO("gradient of input " << k);
        CHECK_CLOSE(analytic, numeric, o.rtol, o.atol);
    }
}

void check_module_gradients(nn::Module& module, const std::function<Tensor()>& loss, GradcheckOptions o,
                            std::size_t per_parameter) {
    using namespace autograd;
    module.zero_grad();
    loss().backward();
    for (auto& [name, p] : module.named_parameters()) {
        const std::size_t n = p.size();
        const std::size_t count = std::min(n, per_parameter);
        for (std::size_t c = 0; c < count; ++c) {
            const std::size_t i = (2 * c + 1) * n / (2 * count);  // spread over the parameter
            const float keep = p.value().data()[i];
            auto at = [&](float v) {
                NoGradGuard no_grad;
                p.mutable_value().data()[i] = v;
                const double l = loss().item();
                p.mutable_value().data()[i] = keep;
                return l;
            };
            const float up = static_cast<float>(keep + o.h), down = static_cast<float>(keep - o.h);
            const double numeric = (at(up) - at(down)) / (double(up) - double(down));
            const double analytic = p.has_grad() ? p.grad().data()[i] : 0.0;
            INFO("parameter " << name << " element " << i << ": tape " << analytic << ", finite difference " << numeric);
            CHECK(std::abs(analytic - numeric) <= o.atol + o.rtol * std::abs(numeric));
        }
    }
}

}  // namespace tapegrad::testing
