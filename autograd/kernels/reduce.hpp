// Loops along one axis of a contiguous row-major array, seen as [outer, n, inner]
// around that axis: the sums, maxima, logsumexp and softmax family of
// ../ops/reduce.cpp, and the sums that undo broadcasting. An axis's n elements at
// one (outer, inner) position form a lane; lanes along the last axis (inner = 1)
// are contiguous, the others are copied through a buffer first.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapegrad::kernels {

// An array as [outer, n, inner] around one axis.
struct AxisSplit {
    std::size_t outer = 1, n = 1, inner = 1;
};

// y [outer, inner] = the sums over the axis of x [outer, n, inner].
void sum_axis(const float* x, AxisSplit s, float* y);

// y [outer, inner] = the maxima over the axis, and the index of the first maximum
// of each lane in arg.
void max_axis(const float* x, AxisSplit s, float* y, std::uint32_t* arg);
// The gradient of max_axis: d [outer, n, inner] = g at each lane's argmax, 0 elsewhere.
void max_axis_backward(const float* g, const std::uint32_t* arg, AxisSplit s, float* d);

// y [outer, inner] = log sum exp over the axis, shifted by the lane's maximum.
void logsumexp_axis(const float* x, AxisSplit s, float* y);

// y = softmax(x) along the axis (y may be x); its backward d = y (g - sum(g y)).
// A lane whose every entry is -inf (masked out) gets y = 0.
void softmax_axis(const float* x, AxisSplit s, float* y);
void softmax_axis_backward(const float* g, const float* y, AxisSplit s, float* d);

// y = x - logsumexp(x) along the axis (y may be x); its backward d = g - exp(y) sum(g).
// A lane whose every entry is -inf gets y = -inf.
void log_softmax_axis(const float* x, AxisSplit s, float* y);
void log_softmax_axis_backward(const float* g, const float* y, AxisSplit s, float* d);

}  // namespace tapegrad::kernels
