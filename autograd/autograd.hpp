// Everything of the autograd engine in one include: Tensor, the tape, every op,
// the composed references of the dedicated ops, the profiler and the thread count.
#pragma once

#include "autograd/array.hpp"
#include "autograd/kernels/parallel.hpp"
#include "autograd/ops/attention.hpp"
#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/index.hpp"
#include "autograd/ops/linalg.hpp"
#include "autograd/ops/loss.hpp"
#include "autograd/ops/norm.hpp"
#include "autograd/ops/recurrent.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/reference.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/profiler.hpp"
#include "autograd/random.hpp"
#include "autograd/tape.hpp"
#include "autograd/tensor.hpp"

namespace tapegrad::autograd {
// The threads tapegrad computes on (its own pool: products and the passes between
// them; OpenBLAS itself stays on one thread). Set once at start-up; by default one
// per core this process may run on.
using kernels::num_threads;
using kernels::set_num_threads;
}  // namespace tapegrad::autograd
