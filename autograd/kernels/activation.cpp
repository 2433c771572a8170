// The loops of activation.hpp. Each formula is written once, as a template over the
// number type, and runs on xsimd batches and, for the last n % width elements, on
// floats.
#include "autograd/kernels/activation.hpp"

#include <cmath>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "autograd/kernels/parallel.hpp"

namespace tapegrad::kernels {

namespace {

constexpr float inv_sqrt2 = 0.70710678118654752f, inv_sqrt_2pi = 0.39894228040143268f;
constexpr float c = 0.79788456080286536f, k = 0.044715f;  // c = sqrt(2 / pi)

// erf, exp and tanh of a float or of a batch (xsimd's for batches, the C library's
// for floats).
float erf_of(float v) { return std::erf(v); }
float exp_of(float v) { return std::exp(v); }
float tanh_of(float v) { return std::tanh(v); }
template <class B>
B erf_of(const B& v) { return xsimd::erf(v); }
template <class B>
B exp_of(const B& v) { return xsimd::exp(v); }
template <class B>
B tanh_of(const B& v) { return xsimd::tanh(v); }

template <class T>
T forward(T x, GeluForm form) {
    const T half(0.5f), one(1.0f);
    if (form == GeluForm::exact) return half * x * (one + erf_of(x * T(inv_sqrt2)));
    return half * x * (one + tanh_of(T(c) * (x + T(k) * x * x * x)));
}

template <class T>
T derivative(T x, GeluForm form) {
    const T half(0.5f), one(1.0f);
    if (form == GeluForm::exact)
        return half * (one + erf_of(x * T(inv_sqrt2))) + x * T(inv_sqrt_2pi) * exp_of(-half * x * x);
    const T t = tanh_of(T(c) * (x + T(k) * x * x * x));
    return half * (one + t) + half * x * (one - t * t) * T(c) * (one + T(3.0f * k) * x * x);
}

using Batch = xsimd::batch<float>;

template <class T>
T load(const float* p) {
    if constexpr (std::is_same_v<T, float>) return *p;
    else return T::load_unaligned(p);
}

// out[i] = f(i, T{}) for i in [0, n), where f returns the T (a batch, or a float for
// the last elements) that starts at element i; in pieces over the pool.
template <class F>
void map(std::size_t n, float* out, F f) {
    constexpr std::size_t W = Batch::size;
    parallel_for(n, std::size_t{1} << 14, [&](std::size_t begin, std::size_t end, std::size_t) {
        std::size_t i = begin;
        for (; i + W <= end; i += W) f(i, Batch()).store_unaligned(out + i);
        for (; i < end; ++i) out[i] = f(i, 0.0f);
    });
}

}  // namespace

void gelu(const float* x, std::size_t n, GeluForm form, float* y) {
    map(n, y, [&](std::size_t i, auto like) {
        using T = decltype(like);
        return forward(load<T>(x + i), form);
    });
}

void gelu_backward(const float* x, const float* g, std::size_t n, GeluForm form, float* dx) {
    map(n, dx, [&](std::size_t i, auto like) {
        using T = decltype(like);
        return load<T>(g + i) * derivative(load<T>(x + i), form);
    });
}

}  // namespace tapegrad::kernels
