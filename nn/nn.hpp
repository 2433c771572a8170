// Everything of nn in one include: modules, layers, recurrent layers, initialisers,
// optimisers, distributions and checkpoints (and the autograd engine under them).
#pragma once

#include "autograd/autograd.hpp"
#include "nn/checkpoint.hpp"
#include "nn/dist/distributions.hpp"
#include "nn/init.hpp"
#include "nn/layers.hpp"
#include "nn/module.hpp"
#include "nn/npz.hpp"
#include "nn/optim.hpp"
#include "nn/rnn.hpp"
#include "nn/transformer.hpp"
