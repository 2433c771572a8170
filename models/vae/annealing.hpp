// KL weight schedules (the beta of recon + beta * KL, as a function of the step)
// and their parsing from command-line names.
#pragma once

#include <string>

namespace tapegrad::models::vae {

struct KLSchedule {
    enum class Kind { constant, linear, logistic, cyclical };
    Kind kind = Kind::logistic;
    float weight = 1.0f;      // the final (maximum) weight; constant: the weight throughout
    float k = 0.0025f;        // logistic steepness (Bowman et al. 2016, sec. 3.1; reference Sentence-VAE value)
    long x0 = 2500;           // logistic midpoint, in steps
    long warmup = 10000;      // linear: steps from 0 to `weight`
    long cycle = 10000;       // cyclical: steps per cycle
    float ratio = 0.5f;       // cyclical: fraction of each cycle spent rising (Fu et al. 2019 use 0.5)

    // The weight at a step (0-based count of optimiser steps taken so far):
    //   constant   weight
    //   linear     weight * min(1, step / warmup)
    //   logistic   weight / (1 + exp(-k (step - x0)))
    //   cyclical   weight * min(1, (step mod cycle) / (ratio * cycle))   (Fu et al. 2019)
    float at(long step) const;
    std::string describe() const;
};

// "constant" | "linear" | "logistic" | "cyclical"
KLSchedule::Kind parse_schedule(const std::string& name);
std::string schedule_name(KLSchedule::Kind kind);

}  // namespace tapegrad::models::vae
