// Data-parallel training over MPI (docs/distributed.md). Each of N processes (ranks)
// holds the same model and takes its share of every global batch; after the
// backward sweep the ranks' gradients are summed (MPI_Allreduce), so every rank
// applies the same update, the one a single process with the whole batch would.
//
// The pieces: a Communicator (the group of ranks: sums, broadcasts, abort), a
// GradientReducer that starts the sums in buckets while backward() is still
// running, and row_range(), which says which rows of a batch are a rank's. Random
// draws follow the examples, not the ranks (autograd::RowSlice), so the numbers do
// not depend on how many ranks there are.
//
// Built without MPI (meson -Dmpi=disabled), or run without mpirun, world() is a
// group of one and everything works as in a single process.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tape.hpp"
#include "autograd/tensor.hpp"

namespace tapegrad::nn::distributed {

using autograd::Tensor;

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    bool root() const { return rank() == 0; }

    // Sums data[0..n) over the group in place; every rank gets the same sums.
    virtual void sum(float* data, std::size_t n) = 0;
    virtual void sum(double* data, std::size_t n) = 0;
    // Starts such a sum of floats and returns at once; data must stay put until
    // wait_all(). progress() lets started sums advance (MPI moves a message only
    // inside its calls); wait_all() returns when all are done.
    virtual void start_sum(float* data, std::size_t n) = 0;
    virtual void progress() = 0;
    virtual void wait_all() = 0;
    // Rank `from`'s text, on every rank.
    virtual void broadcast(std::string& text, int from) = 0;
    // Ends every rank of the job (not only this one) after printing `why`.
    [[noreturn]] virtual void abort(const std::string& why) = 0;
    // The group's ranks with the same colour, as a group of their own (for tests:
    // resuming on fewer ranks). Every rank must call it; a rank with colour < 0 gets
    // no group (nullptr).
    virtual std::unique_ptr<Communicator> split(int colour) = 0;
};

// One process alone: a sum of one is the value itself.
class Solo final : public Communicator {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    void sum(float*, std::size_t) override {}
    void sum(double*, std::size_t) override {}
    void start_sum(float*, std::size_t) override {}
    void progress() override {}
    void wait_all() override {}
    void broadcast(std::string&, int) override {}
    [[noreturn]] void abort(const std::string& why) override;
    std::unique_ptr<Communicator> split(int colour) override;
};

// Whether this build has MPI (meson -Dmpi).
bool built_with_mpi();

// Starts MPI for the program's life (main() holds one); without MPI it does nothing.
class Environment {
public:
    Environment(int& argc, char**& argv);
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;
};

// All ranks of the job (MPI_COMM_WORLD), or a Solo group when there is no MPI or no
// Environment was made.
Communicator& world();

// The rows [begin, end) of a batch of `rows` examples that rank `rank` of `size`
// takes: contiguous, in rank order, their sizes differing by at most one. A rank
// may get none when the batch has fewer rows than there are ranks.
struct RowRange {
    std::size_t begin = 0, end = 0;
    std::size_t size() const { return end - begin; }
};
RowRange row_range(std::size_t rows, int rank, int size);

// Sums the gradients of `params` over the group while backward() runs. The
// parameters are cut into buckets of about bucket_bytes, in reverse order of
// registration (the order in which a sweep usually completes their gradients).
// Each parameter's gradient-ready hook (Tensor::on_grad_ready) copies it into its
// bucket; a bucket whose gradients are all in starts its sum at once, so the
// messages travel while the sweep goes on. Buckets start in order, the same on
// every rank, as MPI requires of collective calls. finish_step() starts the
// buckets whose parameters this step did not reach, waits, and writes the sums
// back into the gradients. A parameter with no gradient on any rank keeps none (as
// in one process, the optimiser then skips it).
class GradientReducer {
public:
    GradientReducer(std::vector<Tensor> params, Communicator& group, std::size_t bucket_bytes = std::size_t{4} << 20);
    ~GradientReducer();  // removes the hooks
    GradientReducer(const GradientReducer&) = delete;
    GradientReducer& operator=(const GradientReducer&) = delete;

    void begin_step();
    void finish_step();

    std::size_t buckets() const { return buckets_.size(); }
    // Of the last step: buckets started inside the sweep, and milliseconds spent
    // in finish_step() (the part of the sums the sweep did not hide).
    std::size_t started_in_sweep() const { return started_in_sweep_; }
    double finish_ms() const { return finish_ms_; }

private:
    // MPI moves a started sum only inside MPI calls: while the sweep runs, the
    // reducer watches the tape and lets the sums progress after every rule (and
    // passes everything on to the observer that was there before, e.g. the profiler).
    struct Watcher final : autograd::TapeObserver {
        GradientReducer* reducer = nullptr;
        autograd::TapeObserver* outer = nullptr;
        void recorded(const char* op) override {
            if (outer) outer->recorded(op);
        }
        void rule_started(const char* op) override {
            if (outer) outer->rule_started(op);
        }
        void rule_finished(const char* op) override;
        void sweep_finished() override {
            if (outer) outer->sweep_finished();
        }
    };
    struct Bucket {
        std::vector<std::size_t> params;  // indices into params_
        std::vector<std::size_t> offsets;
        // The gradients, then one presence count per parameter (1 if this rank has
        // its gradient): summed, they say whether any rank had one.
        std::vector<float> buffer;
        std::size_t ready = 0;
    };
    void ready(std::size_t param);
    void start_ready_buckets();

    std::vector<Tensor> params_;
    Communicator& group_;
    std::vector<Bucket> buckets_;
    std::vector<std::size_t> bucket_of_, slot_of_;  // per parameter
    std::vector<bool> arrived_;
    std::size_t next_ = 0;  // the next bucket to start
    Watcher watcher_;
    bool watching_ = false;
    bool in_flight_ = false;  // between begin_step() and finish_step()
    std::size_t started_in_sweep_ = 0;
    double finish_ms_ = 0.0;
};

}  // namespace tapegrad::nn::distributed
