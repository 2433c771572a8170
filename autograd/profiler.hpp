// Where a step's time goes, per op name: forward (the time since the previous
// entry was recorded, i.e. the op's computation and the model code around it) and
// backward (the rule and the accumulation of its gradients). It watches the tape
// from outside, as a TapeObserver (tape.hpp); off by default, and when off the tape
// pays one branch per record() and per sweep step.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tapegrad::autograd {

struct OpTime {
    std::string op;
    std::size_t calls = 0;
    double forward_ms = 0, backward_ms = 0;
};

// Profiles this thread's tape.
class Profiler {
public:
    static void enable(bool on = true);
    static bool enabled();
    static void reset();
    // Starts the clock for the next op's forward time (call at the top of a step,
    // so that batch building is not charged to the first op).
    static void mark();
    // Charges time spent outside the tape (an optimiser update) to a named row. Time
    // added while an op's backward rule runs (a leaf's hook) is left out of that op's row.
    static void add(const std::string& name, double ms);
    static std::vector<OpTime> report();  // sorted by total time, largest first
    static void print(std::ostream& os, double steps = 1.0);  // a table, per step when steps > 1
};

}  // namespace tapegrad::autograd
