#include "models/vae/annealing.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/array.hpp"

namespace tapegrad::models::vae {

float KLSchedule::at(long step) const {
    switch (kind) {
        case Kind::constant: return weight;
        case Kind::linear: return weight * std::min(1.0f, static_cast<float>(step) / static_cast<float>(std::max(1L, warmup)));
        case Kind::logistic: return weight / (1.0f + std::exp(-k * static_cast<float>(step - x0)));
        case Kind::cyclical: {
            const long c = std::max(1L, cycle);
            const float phase = static_cast<float>(step % c) / static_cast<float>(c);
            return weight * std::min(1.0f, phase / std::max(1e-6f, ratio));
        }
    }
    return weight;
}

std::string KLSchedule::describe() const {
    std::ostringstream os;
    os << schedule_name(kind);
    switch (kind) {
        case Kind::constant: os << " (weight " << weight << ")"; break;
        case Kind::linear: os << " (0 -> " << weight << " over " << warmup << " steps)"; break;
        case Kind::logistic: os << " (k " << k << ", x0 " << x0 << ", max " << weight << ")"; break;
        case Kind::cyclical: os << " (cycle " << cycle << " steps, rising " << ratio << ", max " << weight << ")"; break;
    }
    return os.str();
}

KLSchedule::Kind parse_schedule(const std::string& name) {
    if (name == "constant") return KLSchedule::Kind::constant;
    if (name == "linear") return KLSchedule::Kind::linear;
    if (name == "logistic") return KLSchedule::Kind::logistic;
    if (name == "cyclical") return KLSchedule::Kind::cyclical;
    throw Error("unknown KL schedule '" + name + "' (expected constant, linear, logistic or cyclical)");
}

std::string schedule_name(KLSchedule::Kind kind) {
    switch (kind) {
        case KLSchedule::Kind::constant: return "constant";
        case KLSchedule::Kind::linear: return "linear";
        case KLSchedule::Kind::logistic: return "logistic";
        case KLSchedule::Kind::cyclical: return "cyclical";
    }
    return "?";
}

}  // namespace tapegrad::models::vae
