// The thread pool behind parallel_for.
//
// A job is cut into pieces; every thread of the pool, the caller included, takes
// the next piece nobody has taken until none is left. So a helper that the
// operating system has not scheduled yet (another process holds its core) costs
// nothing: the caller takes its piece too, and waits only for pieces a helper has
// actually started. With a fixed split instead, the caller waited for each helper
// to be scheduled, and a 2-thread step on a machine with one core busy ran slower
// than the 1-thread step (docs/performance.md).
#include "autograd/kernels/parallel.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
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
// costs tens of microseconds), yielding the core now and then so that a thread the
// operating system queued behind this one can run, then asleep on the atomic.
void wait_for_change(const std::atomic<std::uint64_t>& value, std::uint64_t old) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    for (unsigned spins = 1; value.load(std::memory_order_acquire) == old; ++spins) {
        if (spins % 256 == 0) {
            if (std::chrono::steady_clock::now() > until)
                value.wait(old, std::memory_order_acquire);
            else
                std::this_thread::yield();
        }
#if defined(__x86_64__) || defined(__i386__)
        else
            __builtin_ia32_pause();
#endif
    }
}

// The job being run: its pieces and who took them. `next` holds the job's number
// (high 32 bits), its number of pieces (16 bits) and the next untaken piece (low
// 16), so that a thread takes pieces of the job it was woken for only: a helper
// that wakes after its job ended finds another number and takes nothing, without
// reading any other field of a job that may be being set up.
struct Job {
    static std::uint64_t word(std::uint32_t number, std::size_t parts) {
        return (std::uint64_t{number} << 32) | (std::uint64_t{parts} << 16);
    }
    std::atomic<std::uint64_t> next{0};
    std::atomic<std::uint64_t> done{0};  // pieces finished
    const Body* body = nullptr;
    std::size_t n = 0, parts = 0, grain = 1;
    std::mutex error_mutex;
    std::exception_ptr error;

    // Piece p covers [start(p), start(p + 1)): equal shares, cut at multiples of grain.
    std::size_t start(std::size_t p) const { return std::min(n, (p * n / parts + grain - 1) / grain * grain); }

    // Takes and runs pieces of job `number` until none is left; returns how many it ran.
    std::size_t work(std::uint32_t number) {
        std::size_t ran = 0;
        for (;;) {
            std::uint64_t seen = next.load(std::memory_order_acquire);
            const std::size_t p = seen & 0xffffu, pieces = (seen >> 16) & 0xffffu;
            if ((seen >> 32) != number || p >= pieces) return ran;
            if (!next.compare_exchange_weak(seen, seen + 1, std::memory_order_acq_rel)) continue;
            ++ran;
            try {
                PieceScope scope;
                (*body)(start(p), start(p + 1), p);
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
            }
            if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == pieces) done.notify_all();
        }
    }
};

// Whether helpers take pieces (set_helpers_paused).
std::atomic<bool> helpers_paused{false};

// Whether to wake the helpers for the next job. They are woken unless recent jobs
// found them late: in a window of jobs, more than half of them had the caller
// doing every piece itself, or waiting for a started piece longer than it took for
// its own. Then the caller runs the pieces alone (the same pieces, in order, so the
// results do not change) for a while before trying the helpers again: a helper
// that is rarely scheduled only competes with the caller for a core.
class WakePolicy {
public:
    using Clock = std::chrono::steady_clock;
    bool wake(Clock::time_point now) const { return now >= alone_until_; }
    void reset() { *this = WakePolicy(); }
    void record(bool late, Clock::time_point now) {
        late_ += late;
        if (++jobs_ < window) return;
        if (2 * late_ > jobs_) {
            alone_for_ = std::min<Clock::duration>(alone_for_ * 2, longest_alone);
            alone_until_ = now + alone_for_;
        } else {
            alone_for_ = shortest_alone;
        }
        jobs_ = late_ = 0;
    }

private:
    static constexpr int window = 16;
    static constexpr auto shortest_alone = std::chrono::milliseconds(10), longest_alone = std::chrono::milliseconds(320);
    int jobs_ = 0, late_ = 0;
    Clock::duration alone_for_ = shortest_alone;
    Clock::time_point alone_until_{};
};

// One helper thread: woken by run(), it takes pieces of the current job.
class Helper {
public:
    explicit Helper(Job& job) : job_(job), thread_([this] { loop(); }) {}
    ~Helper() {
        stop_ = true;
        posted_.fetch_add(1, std::memory_order_release);
        posted_.notify_one();
        thread_.join();
    }
    void run(std::uint32_t number) {
        number_.store(number, std::memory_order_relaxed);
        posted_.fetch_add(1, std::memory_order_release);
        posted_.notify_one();
    }

private:
    void loop() {
        std::uint64_t seen = 0;
        for (;;) {
            wait_for_change(posted_, seen);
            seen = posted_.load(std::memory_order_acquire);
            if (stop_) return;
            if (!helpers_paused.load(std::memory_order_relaxed)) job_.work(number_.load(std::memory_order_relaxed));
        }
    }

    Job& job_;
    std::atomic<std::uint64_t> posted_{0};
    std::atomic<std::uint32_t> number_{0};
    bool stop_ = false;
    std::thread thread_;  // last: starts once the fields above exist
};

// The job and the helpers, made on first use. One thread at a time owns them
// (claim / release): a second thread that calls parallel_for meanwhile runs its
// range alone.
class Pool {
public:
    bool claim() { return !busy_.test_and_set(std::memory_order_acquire); }
    void release() { busy_.clear(std::memory_order_release); }
    Helper& helper(std::size_t i) {  // only while claimed
        while (helpers_.size() <= i) helpers_.push_back(std::make_unique<Helper>(job));
        return *helpers_[i];
    }
    Job job;
    std::uint32_t jobs = 0;  // numbers the jobs (only while claimed)
    WakePolicy policy;       // (only while claimed)

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

// Set by set_num_threads: the next job starts the wake policy afresh.
std::atomic<bool> policy_reset{false};

}  // namespace

void set_num_threads(int n) {
    thread_count.store(std::max(n, 1), std::memory_order_relaxed);
    policy_reset.store(true, std::memory_order_relaxed);
}

int num_threads() {
    const int n = thread_count.load(std::memory_order_relaxed);
    if (n > 0) return n;
    static const int cores = cores_available();
    return cores;
}

std::size_t max_parts() { return static_cast<std::size_t>(num_threads()); }

void set_helpers_paused(bool paused) { helpers_paused.store(paused, std::memory_order_relaxed); }

std::size_t parallel_for(std::size_t n, std::size_t min_piece, const Body& body, std::size_t grain,
                         std::size_t most_parts) {
    grain = std::max<std::size_t>(grain, 1);
    std::size_t parts = std::min({max_parts(), most_parts, n / std::max<std::size_t>(min_piece, 1), std::size_t{0xffff}});
    auto first_cut = [&] { return std::min(n, (n / parts + grain - 1) / grain * grain); };  // start(1)
    while (parts > 1 && first_cut() >= n) --parts;  // a grain too coarse for this many pieces
    if (parts < 2 || in_piece || !pool().claim()) {
        body(0, n, 0);
        return 1;
    }
    struct Release {
        ~Release() { pool().release(); }
    } release;
    Pool& p = pool();
    try {
        p.helper(parts - 2);  // every helper exists before any is woken
    } catch (...) {           // no thread to be had: run it here
        body(0, n, 0);
        return 1;
    }
    Job& job = p.job;
    const std::uint32_t number = ++p.jobs;
    job.body = &body;
    job.n = n;
    job.parts = parts;
    job.grain = grain;
    job.error = nullptr;
    job.done.store(0, std::memory_order_relaxed);
    job.next.store(Job::word(number, parts), std::memory_order_release);  // publishes the job
    if (policy_reset.exchange(false, std::memory_order_relaxed)) p.policy.reset();
    const auto started = WakePolicy::Clock::now();
    const bool wake = p.policy.wake(started) && !helpers_paused.load(std::memory_order_relaxed);
    if (wake)
        for (std::size_t h = 0; h + 1 < parts; ++h) p.helper(h).run(number);
    const std::size_t ran = job.work(number);  // the caller takes pieces too, until none is left
    const auto own_done = WakePolicy::Clock::now();
    // Always wait for every piece before leaving: the body lives in the caller's frame.
    for (std::uint64_t d = job.done.load(std::memory_order_acquire); d < parts; d = job.done.load(std::memory_order_acquire))
        wait_for_change(job.done, d);
    // Short jobs count too: on a quiet machine a helper is spinning when they come
    // (they come in bursts, one product per GRU step), so only a helper that another
    // process keeps off its core is late for most of them.
    if (wake) {
        const auto now = WakePolicy::Clock::now();
        p.policy.record(ran == parts || now - own_done > own_done - started, now);
    }
    if (job.error) std::rethrow_exception(job.error);
    return parts;
}

}  // namespace tapegrad::kernels
