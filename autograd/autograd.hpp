// Everything of the autograd engine in one include: Tensor, the tape and every op.
#pragma once

#include "autograd/array.hpp"
#include "autograd/blas.hpp"
#include "autograd/ops/elementwise.hpp"
#include "autograd/ops/index.hpp"
#include "autograd/ops/linalg.hpp"
#include "autograd/ops/loss.hpp"
#include "autograd/ops/recurrent.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/random.hpp"
#include "autograd/tape.hpp"
#include "autograd/tensor.hpp"
