// Small Array helpers shared by every part.
#include "autograd/array.hpp"

namespace tapegrad {

Array array(std::vector<float> values, const Shape& shape) {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    if (n != values.size())
        throw Error("array(): " + std::to_string(values.size()) + " values do not fill shape " +
                    shape_str(shape) + " (" + std::to_string(n) + " elements)");
    Array a = Array::from_shape(shape);
    std::copy(values.begin(), values.end(), a.begin());
    return a;
}

Array array(std::vector<float> values) {
    std::size_t n = values.size();
    return array(std::move(values), Shape{n});
}

kernels::AxisSplit split_at(const Shape& shape, std::size_t axis) {
    kernels::AxisSplit s;
    for (std::size_t i = 0; i < axis; ++i) s.outer *= shape[i];
    s.n = shape[axis];
    for (std::size_t i = axis + 1; i < shape.size(); ++i) s.inner *= shape[i];
    return s;
}

namespace {
// Our own loops: xtensor 0.24's immediate reducer crashes when given a std::vector
// of axes, and its lazy one is several times slower (docs/performance.md).
Array sum_axis(const Array& x, std::size_t axis) {
    Shape kept = shape_of(x);
    kept[axis] = 1;
    Array y = Array::from_shape(kept);
    kernels::sum_axis(x.data(), split_at(shape_of(x), axis), y.data());
    return y;
}
}  // namespace

Array sum_axes(const Array& x, const std::vector<std::size_t>& axes) {
    if (axes.empty()) return x;
    Array y = sum_axis(x, axes.back());
    for (auto it = axes.rbegin() + 1; it != axes.rend(); ++it) y = sum_axis(y, *it);
    return y;
}

}  // namespace tapegrad
