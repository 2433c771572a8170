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

}  // namespace tapegrad
