// The profiler: a TapeObserver that charges wall-clock time to op names.
#include "autograd/profiler.hpp"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <map>
#include <ostream>

#include "autograd/tape.hpp"

namespace tapegrad::autograd {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

class OpTimer : public TapeObserver {
public:
    void recorded(const char* op) override {
        const auto now = Clock::now();
        OpTime& t = ops[op];
        t.forward_ms += std::chrono::duration<double, std::milli>(now - last).count();
        ++t.calls;
        last = now;
    }
    void rule_started(const char*) override {
        rule_start = Clock::now();
        added_at_rule_start = added_ms;
    }
    // A leaf's hook (an optimiser update) has its own row: not charged to this op too.
    void rule_finished(const char* op) override {
        ops[op].backward_ms += ms_since(rule_start) - (added_ms - added_at_rule_start);
    }
    void sweep_finished() override { last = Clock::now(); }

    bool on = false;
    Clock::time_point last = Clock::now(), rule_start;
    std::map<std::string, OpTime> ops;
    double added_ms = 0.0;  // everything charged through Profiler::add so far
    double added_at_rule_start = 0.0;
};

OpTimer& timer() {  // one per thread, like the tape
    thread_local OpTimer t;
    return t;
}

}  // namespace

void Profiler::enable(bool on) {
    timer().on = on;
    timer().last = Clock::now();
    set_tape_observer(on ? &timer() : nullptr);
}
bool Profiler::enabled() { return timer().on; }
void Profiler::reset() {
    timer().ops.clear();
    timer().last = Clock::now();
}

void Profiler::mark() { timer().last = Clock::now(); }

void Profiler::add(const std::string& name, double ms) {
    if (!timer().on) return;
    OpTime& t = timer().ops[name];
    ++t.calls;
    t.backward_ms += ms;
    timer().added_ms += ms;
}

std::vector<OpTime> Profiler::report() {
    std::vector<OpTime> out;
    for (auto& [name, t] : timer().ops) {
        OpTime o = t;
        o.op = name;
        out.push_back(o);
    }
    std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) {
        return a.forward_ms + a.backward_ms > b.forward_ms + b.backward_ms;
    });
    return out;
}

void Profiler::print(std::ostream& os, double steps) {
    const auto rows = report();
    double total = 0;
    for (const auto& r : rows) total += r.forward_ms + r.backward_ms;
    os << std::fixed << std::setprecision(2) << std::left << std::setw(34) << "op" << std::right << std::setw(8) << "calls"
       << std::setw(12) << "forward ms" << std::setw(12) << "backward ms" << std::setw(8) << "share" << '\n';
    for (const auto& r : rows)
        os << std::left << std::setw(34) << r.op << std::right << std::setw(8) << r.calls / steps << std::setw(12)
           << r.forward_ms / steps << std::setw(12) << r.backward_ms / steps << std::setw(7)
           << 100.0 * (r.forward_ms + r.backward_ms) / std::max(total, 1e-9) << "%\n";
    os << std::left << std::setw(42) << "total (per step)" << std::right << std::setw(24) << total / steps << '\n';
}

}  // namespace tapegrad::autograd
