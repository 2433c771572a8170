#include "autograd/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <thread>

#include "autograd/blas.hpp"

namespace tapegrad::parallel {

namespace {

using Body = std::function<void(std::size_t, std::size_t, std::size_t)>;

// Set while a thread runs a piece: a parallel_for inside a piece (an sgemm called
// from a body) runs on that thread alone instead of waiting for the busy helper.
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

// One helper thread. run() posts a job and returns at once; wait() blocks until the
// helper has finished it. One thread at a time owns it (claim / release): a second
// thread that calls parallel_for meanwhile runs its range alone.
class Helper {
public:
    bool claim() { return !busy_.test_and_set(std::memory_order_acquire); }
    void release() { busy_.clear(std::memory_order_release); }
    Helper() : thread_([this] { loop(); }) {}
    ~Helper() {
        stop_ = true;
        posted_.fetch_add(1, std::memory_order_release);
        posted_.notify_one();
        thread_.join();
    }
    void run(const Body& body, std::size_t begin, std::size_t end) {
        body_ = &body;
        begin_ = begin;
        end_ = end;
        error_ = nullptr;
        posted_.fetch_add(1, std::memory_order_release);
        posted_.notify_one();
    }
    void wait() {
        const std::uint64_t target = posted_.load(std::memory_order_relaxed);
        for (std::uint64_t f = finished_.load(std::memory_order_acquire); f != target;
             f = finished_.load(std::memory_order_acquire))
            wait_for_change(finished_, f);
        if (error_) std::rethrow_exception(error_);
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
                (*body_)(begin_, end_, 1);
            } catch (...) {
                error_ = std::current_exception();
            }
            finished_.store(seen, std::memory_order_release);
            finished_.notify_one();
        }
    }

    std::atomic_flag busy_;
    std::atomic<std::uint64_t> posted_{0}, finished_{0};
    const Body* body_ = nullptr;
    std::size_t begin_ = 0, end_ = 0;
    std::exception_ptr error_;
    bool stop_ = false;
    std::thread thread_;  // last: starts once the fields above exist
};

Helper& helper() {
    static Helper h;
    return h;
}

}  // namespace

std::size_t max_parts() { return blas::num_threads() >= 2 ? 2 : 1; }

std::size_t parallel_for(std::size_t n, std::size_t min_piece, const Body& body, std::size_t grain) {
    grain = grain ? grain : 1;
    const std::size_t mid = std::min(n, (n / 2 + grain - 1) / grain * grain);  // part 0 gets [0, mid)
    if (in_piece || max_parts() < 2 || n < 2 * min_piece || mid == n || !helper().claim()) {
        body(0, n, 0);
        return 1;
    }
    PieceScope scope;
    Helper& h = helper();
    struct Release {
        Helper& h;
        ~Release() { h.release(); }
    } release{h};
    h.run(body, mid, n);
    std::exception_ptr mine;
    try {
        body(0, mid, 0);
    } catch (...) {
        mine = std::current_exception();
    }
    h.wait();  // always join before leaving: the body lives in the caller's frame
    if (mine) std::rethrow_exception(mine);
    return 2;
}

}  // namespace tapegrad::parallel
