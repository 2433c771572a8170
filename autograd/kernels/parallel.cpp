// The thread pool behind parallel_for.
#include "autograd/kernels/parallel.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

namespace tapegrad::kernels {

namespace {

using Body = std::function<void(std::size_t, std::size_t, std::size_t)>;

// Set while a thread runs a piece: a parallel_for inside a piece (an sgemm called
// from a body) runs on that thread alone instead of waiting for the busy helpers.
thread_local bool in_piece = false;
struct PieceScope {
    bool was = in_piece;
    PieceScope() { in_piece = true; }
    ~PieceScope() { in_piece = was; }
};

// Waits until `value` differs from `old`: spinning for the first ~50 us (jobs come
// in quick succession, e.g. one product per GRU time step, and a futex wake-up
// costs tens of microseconds), then asleep on the atomic.
void wait_for_change(const std::atomic<std::uint64_t>& value, std::uint64_t old) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    for (unsigned spins = 1; value.load(std::memory_order_acquire) == old; ++spins) {
        if (spins % 256 == 0 && std::chrono::steady_clock::now() > until)
            value.wait(old, std::memory_order_acquire);
#if defined(__x86_64__) || defined(__i386__)
        else
            __builtin_ia32_pause();
#endif
    }
}

// One helper thread. run() posts a piece and returns at once; wait() blocks until
// the helper has finished it.
class Helper {
public:
    Helper() : thread_([this] { loop(); }) {}
    ~Helper() {
        stop_ = true;
        posted_.fetch_add(1, std::memory_order_release);
        posted_.notify_one();
        thread_.join();
    }
    void run(const Body& body, std::size_t begin, std::size_t end, std::size_t part) {
        body_ = &body;
        begin_ = begin;
        end_ = end;
        part_ = part;
        error_ = nullptr;
        posted_.fetch_add(1, std::memory_order_release);
        posted_.notify_one();
    }
    // The helper's exception, if its piece threw (after it finished).
    std::exception_ptr wait() {
        const std::uint64_t target = posted_.load(std::memory_order_relaxed);
        for (std::uint64_t f = finished_.load(std::memory_order_acquire); f != target;
             f = finished_.load(std::memory_order_acquire))
            wait_for_change(finished_, f);
        return error_;
    }

private:
    void loop() {
        std::uint64_t seen = 0;
        for (;;) {
            wait_for_change(posted_, seen);
            seen = posted_.load(std::memory_order_acquire);
            if (stop_) return;
            try {
                PieceScope scope;
                (*body_)(begin_, end_, part_);
            } catch (...) {
                error_ = std::current_exception();
            }
            finished_.store(seen, std::memory_order_release);
            finished_.notify_one();
        }
    }

    std::atomic<std::uint64_t> posted_{0}, finished_{0};
    const Body* body_ = nullptr;
    std::size_t begin_ = 0, end_ = 0, part_ = 0;
    std::exception_ptr error_;
    bool stop_ = false;
    std::thread thread_;  // last: starts once the fields above exist
};

// The helpers, made on first use. One thread at a time owns them (claim /
// release): a second thread that calls parallel_for meanwhile runs its range alone.
class Pool {
public:
    bool claim() { return !busy_.test_and_set(std::memory_order_acquire); }
    void release() { busy_.clear(std::memory_order_release); }
    Helper& helper(std::size_t i) {  // only while claimed
        while (helpers_.size() <= i) helpers_.push_back(std::make_unique<Helper>());
        return *helpers_[i];
    }

private:
    std::atomic_flag busy_;
    std::vector<std::unique_ptr<Helper>> helpers_;
};

// Never destroyed: joining helpers during static destruction could meet a thread
// still inside parallel_for, or a piece that called std::exit. They sleep, and end
// with the process.
Pool& pool() {
    static Pool& p = *new Pool;
    return p;
}

// The thread count (set_num_threads; 0 until set: then one per core this process
// may run on). Threads may read it at once (two user threads with their own tapes).
std::atomic<int> thread_count{0};

int cores_available() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

void set_num_threads(int n) { thread_count.store(std::max(n, 1), std::memory_order_relaxed); }

int num_threads() {
    const int n = thread_count.load(std::memory_order_relaxed);
    if (n > 0) return n;
    static const int cores = cores_available();
    return cores;
}

std::size_t max_parts() { return static_cast<std::size_t>(num_threads()); }

std::size_t parallel_for(std::size_t n, std::size_t min_piece, const Body& body, std::size_t grain,
                         std::size_t most_parts) {
    grain = std::max<std::size_t>(grain, 1);
    std::size_t parts = std::min({max_parts(), most_parts, n / std::max<std::size_t>(min_piece, 1)});
    // Piece p covers [start(p), start(p + 1)): equal shares, cut at multiples of grain.
    auto start = [&](std::size_t p) { return std::min(n, (p * n / parts + grain - 1) / grain * grain); };
    while (parts > 1 && start(1) >= n) --parts;  // a grain too coarse for this many pieces
    if (parts < 2 || in_piece || !pool().claim()) {
        body(0, n, 0);
        return 1;
    }
    struct Release {
        ~Release() { pool().release(); }
    } release;
    try {
        pool().helper(parts - 2);  // every helper exists before any is given the body
    } catch (...) {                // no thread to be had: run it here
        body(0, n, 0);
        return 1;
    }
    PieceScope scope;
    for (std::size_t p = 1; p < parts; ++p) pool().helper(p - 1).run(body, start(p), start(p + 1), p);
    std::exception_ptr error;
    try {
        body(0, start(1), 0);
    } catch (...) {
        error = std::current_exception();
    }
    for (std::size_t p = 1; p < parts; ++p) {  // always join all before leaving: the body lives in the caller's frame
        std::exception_ptr e = pool().helper(p - 1).wait();
        if (e && !error) error = e;
    }
    if (error) std::rethrow_exception(error);
    return parts;
}

}  // namespace tapegrad::kernels
