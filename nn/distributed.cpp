#include "nn/distributed.hpp"

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>


#ifdef TAPEGRAD_MPI
#include <mpi.h>
#endif

namespace tapegrad::nn::distributed {

void Solo::abort(const std::string& why) {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::exit(1);
}

std::unique_ptr<Communicator> Solo::split(int colour) {
    return colour < 0 ? nullptr : std::make_unique<Solo>();
}

namespace {
Communicator* world_group = nullptr;  // set while an Environment with MPI lives

#ifdef TAPEGRAD_MPI
// MPI counts elements in an int.
int count_of(std::size_t n) {
    if (n > static_cast<std::size_t>(INT_MAX)) throw Error("MPI: a message of " + std::to_string(n) + " elements is too long");
    return static_cast<int>(n);
}

class Mpi final : public Communicator {
public:
    Mpi(MPI_Comm comm, bool owned) : comm_(comm), owned_(owned) {
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
    }
    ~Mpi() override {
        if (owned_) MPI_Comm_free(&comm_);
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    void sum(float* data, std::size_t n) override {
        MPI_Allreduce(MPI_IN_PLACE, data, count_of(n), MPI_FLOAT, MPI_SUM, comm_);
    }
    void sum(double* data, std::size_t n) override {
        MPI_Allreduce(MPI_IN_PLACE, data, count_of(n), MPI_DOUBLE, MPI_SUM, comm_);
    }
    void start_sum(float* data, std::size_t n) override {
        pending_.emplace_back();
        MPI_Iallreduce(MPI_IN_PLACE, data, count_of(n), MPI_FLOAT, MPI_SUM, comm_, &pending_.back());
    }
    void progress() override {
        if (pending_.empty()) return;
        int done = 0;
        MPI_Testall(static_cast<int>(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE);
    }
    void wait_all() override {
        MPI_Waitall(static_cast<int>(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE);
        pending_.clear();
    }
    void broadcast(std::string& text, int from) override {
        unsigned long n = text.size();
        MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG, from, comm_);
        text.resize(n);
        MPI_Bcast(text.data(), count_of(n), MPI_CHAR, from, comm_);
    }
    [[noreturn]] void abort(const std::string& why) override {
        // stdio, not std::cerr: the command-line tool silences std::cerr on ranks other than 0.
        std::fprintf(stderr, "rank %d of %d: %s\nending all ranks\n", rank_, size_, why.c_str());
        std::fflush(stderr);
        MPI_Abort(comm_, 1);
        std::exit(1);  // MPI_Abort does not return
    }
    std::unique_ptr<Communicator> split(int colour) override {
        MPI_Comm out = MPI_COMM_NULL;
        MPI_Comm_split(comm_, colour < 0 ? MPI_UNDEFINED : colour, rank_, &out);
        if (out == MPI_COMM_NULL) return nullptr;
        return std::make_unique<Mpi>(out, true);
    }

private:
    MPI_Comm comm_;
    bool owned_;
    int rank_ = 0, size_ = 1;
    std::vector<MPI_Request> pending_;
};

// mpirun (Open MPI's or MPICH's) tells its processes who they are in these.
bool started_by_mpirun() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (std::getenv(v)) return true;
    return false;
}
bool we_started_mpi = false;
#endif
}  // namespace

bool built_with_mpi() {
#ifdef TAPEGRAD_MPI
    return true;
#else
    return false;
#endif
}

// Started only under mpirun: a plain run needs no MPI (its start costs time and,
// in some containers, warnings).
Environment::Environment([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv) {
#ifdef TAPEGRAD_MPI
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised && started_by_mpirun()) {
        int provided = 0;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);  // only the main thread calls MPI
        if (provided < MPI_THREAD_FUNNELED) {
            std::fprintf(stderr, "MPI gives no thread support (level %d); tapegrad's pool threads need MPI_THREAD_FUNNELED\n", provided);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        we_started_mpi = true;
        initialised = 1;
    }
    if (initialised && !world_group) world_group = new Mpi(MPI_COMM_WORLD, false);
#endif
}

Environment::~Environment() {
#ifdef TAPEGRAD_MPI
    delete world_group;
    world_group = nullptr;
    if (we_started_mpi) MPI_Finalize();
    we_started_mpi = false;
#endif
}

Communicator& world() {
    static Solo solo;
    return world_group ? *world_group : solo;
}

RowRange row_range(std::size_t rows, int rank, int size) {
    if (size < 1 || rank < 0 || rank >= size)
        throw Error("row_range: rank " + std::to_string(rank) + " of a group of " + std::to_string(size));
    const auto r = static_cast<std::size_t>(rank), n = static_cast<std::size_t>(size);
    return {rows * r / n, rows * (r + 1) / n};
}

GradientReducer::GradientReducer(std::vector<Tensor> params, Communicator& group, std::size_t bucket_bytes)
    : params_(std::move(params)), group_(group) {
    const std::size_t P = params_.size();
    bucket_of_.resize(P);
    slot_of_.resize(P);
    arrived_.assign(P, false);
    Bucket current;
    std::size_t floats = 0;
    auto close = [&] {
        if (current.params.empty()) return;
        current.buffer.assign(floats + current.params.size(), 0.0f);
        buckets_.push_back(std::move(current));
        current = Bucket();
        floats = 0;
    };
    for (std::size_t k = P; k-- > 0;) {
        const std::size_t n = params_[k].size();
        if (!current.params.empty() && (floats + n) * sizeof(float) > bucket_bytes) close();
        bucket_of_[k] = buckets_.size();
        slot_of_[k] = current.params.size();
        current.params.push_back(k);
        current.offsets.push_back(floats);
        floats += n;
    }
    close();
    for (std::size_t k = 0; k < P; ++k) params_[k].on_grad_ready([this, k] { ready(k); });
}

GradientReducer::~GradientReducer() {
    for (Tensor& p : params_) p.on_grad_ready({});
    if (watching_) autograd::set_tape_observer(watcher_.outer);
    // Sums still in flight write into the buckets about to be freed, and the other
    // ranks wait for this one's part: nothing can continue. (While an exception
    // unwinds, its handler ends the job with its own message: train() does.)
    if (in_flight_ && std::uncaught_exceptions() == 0)
        group_.abort("a gradient reducer was destroyed in the middle of a step");
}

void GradientReducer::Watcher::rule_finished(const char* op) {
    if (outer) outer->rule_finished(op);
    if (reducer->next_ > 0) reducer->group_.progress();
}

void GradientReducer::begin_step() {
    for (Bucket& b : buckets_) b.ready = 0;
    arrived_.assign(params_.size(), false);
    next_ = 0;
    started_in_sweep_ = 0;
    in_flight_ = true;
    if (group_.size() > 1 && !watching_) {
        watcher_.reducer = this;
        watcher_.outer = autograd::set_tape_observer(&watcher_);
        watching_ = true;
    }
}

void GradientReducer::ready(std::size_t k) {
    if (arrived_[k])  // a second sweep in one step would add a bucket's gradients twice
        throw Error("GradientReducer: parameter " + params_[k].name() + " got its gradient twice in one step; "
                    "call begin_step() before each backward()");
    Bucket& b = buckets_[bucket_of_[k]];
    const std::size_t slot = slot_of_[k];
    const Array& g = params_[k].grad();
    std::copy_n(g.data(), g.size(), b.buffer.data() + b.offsets[slot]);
    b.buffer[b.buffer.size() - b.params.size() + slot] = 1.0f;
    arrived_[k] = true;
    ++b.ready;
    const std::size_t before = next_;
    start_ready_buckets();
    started_in_sweep_ += next_ - before;
    group_.progress();
}

void GradientReducer::start_ready_buckets() {
    while (next_ < buckets_.size() && buckets_[next_].ready == buckets_[next_].params.size()) {
        group_.start_sum(buckets_[next_].buffer.data(), buckets_[next_].buffer.size());
        ++next_;
    }
}

void GradientReducer::finish_step() {
    const auto t0 = std::chrono::steady_clock::now();
    if (watching_) {
        autograd::set_tape_observer(watcher_.outer);
        watching_ = false;
    }
    // Parameters the sweep did not reach on this rank add zeros, marked absent.
    for (Bucket& b : buckets_) {
        for (std::size_t slot = 0; slot < b.params.size(); ++slot) {
            const std::size_t k = b.params[slot];
            if (arrived_[k]) continue;
            std::fill_n(b.buffer.data() + b.offsets[slot], params_[k].size(), 0.0f);
            b.buffer[b.buffer.size() - b.params.size() + slot] = 0.0f;
            ++b.ready;
        }
    }
    start_ready_buckets();
    group_.wait_all();
    for (Bucket& b : buckets_)
        for (std::size_t slot = 0; slot < b.params.size(); ++slot) {
            Tensor& p = params_[b.params[slot]];
            if (b.buffer[b.buffer.size() - b.params.size() + slot] == 0.0f) {
                p.zero_grad();  // no rank reached it
                continue;
            }
            if (!p.has_grad()) p.set_grad(Array::from_shape(p.shape()));
            std::copy_n(b.buffer.data() + b.offsets[slot], p.size(), p.mutable_grad().data());
        }
    in_flight_ = false;
    finish_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace tapegrad::nn::distributed
