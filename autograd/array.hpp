// Array, Shape and Indices: the numeric types under every Tensor.
// This is the only header that includes xtensor; everything else includes this one.
// Read next: tensor.hpp (the Tensor handle), tape.hpp (how gradients are recorded).
#pragma once

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xio.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/kernels/memory.hpp"
#include "autograd/kernels/reduce.hpp"

#ifdef XTENSOR_USE_XSIMD
// Blocks from kernels/memory.hpp are aligned as xsimd's own allocator's are, so xtensor may
// use aligned SIMD loads and stores on them, as it does for that allocator.
static_assert(tapegrad::kernels::alignment % xsimd::default_arch::alignment() == 0);
template <class T>
struct xsimd::allocator_alignment<tapegrad::kernels::Allocator<T>> {
    using type = xsimd::aligned_mode;
};
#endif

namespace tapegrad {

// Every value and gradient is a dense, row-major float32 array, its elements in
// blocks from kernels/memory.hpp (64-byte aligned, small ones recycled per thread).
using Array = xt::xarray<float, xt::layout_type::row_major, kernels::Allocator<float>>;
// Integer ids (token ids, class targets, row indices), int64 as in PyTorch.
using Indices = xt::xarray<std::int64_t>;
// A shape as users write it: {32, 784}. The one type of every shape argument;
// where an op lets an axis be inferred or kept (reshape, broadcast_to), that axis
// is written `infer`, PyTorch's -1.
using Shape = std::vector<std::size_t>;
inline constexpr std::size_t infer = static_cast<std::size_t>(-1);

// Every user error (bad shapes, bad arguments, bad files) is a tapegrad::Error
// whose message names what was wrong; never an assert that vanishes in release.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "[32, 784]" for any shape-like container.
template <class S>
std::string shape_str(const S& shape) {
    std::ostringstream os;
    os << '[';
    bool first = true;
    for (auto d : shape) {
        os << (first ? "" : ", ") << d;
        first = false;
    }
    os << ']';
    return os.str();
}

template <class E>
Shape shape_of(const E& a) {
    return Shape(a.shape().begin(), a.shape().end());
}

// A zero-filled / constant-filled array of a given shape.
inline Array zeros(const Shape& shape) { return Array(shape, 0.0f); }
inline Array ones(const Shape& shape) { return Array(shape, 1.0f); }
inline Array full(const Shape& shape, float v) { return Array(shape, v); }

// The array seen as [outer, n, inner] around `axis` (the loop shape of the kernels
// that work along an axis).
kernels::AxisSplit split_at(const Shape& shape, std::size_t axis);

// Sums over `axes` (sorted, unique), keeping them as length 1.
Array sum_axes(const Array& x, const std::vector<std::size_t>& axes);

// Builds an Array from a flat list of values and a shape (handy in tests and examples).
Array array(std::vector<float> values, const Shape& shape);
// A 1-D Array from values.
Array array(std::vector<float> values);

}  // namespace tapegrad
