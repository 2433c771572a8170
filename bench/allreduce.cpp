// The allreduce's time and bandwidth between the ranks of an MPI job, for the cost
// model of docs/distributed.md:
//   mpirun -np 2 build/bench/allreduce [--repeats 20]
// For message sizes from 4 KB to 64 MB, and the sentence VAE's 25.7 MB of
// gradients, it times Communicator::sum (MPI_Allreduce, in place, float sums) and
// prints one line per size: bytes, median milliseconds, the algorithm bandwidth
// bytes / time and the bus bandwidth 2 (n - 1) / n * bytes / time (what each rank
// sends and receives in a ring allreduce, which a link must carry).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "nn/distributed.hpp"

using namespace tapegrad::nn::distributed;

int main(int argc, char** argv) {
    Environment mpi(argc, argv);
    Communicator& world = tapegrad::nn::distributed::world();
    int repeats = 20;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--repeats") repeats = std::max(1, std::stoi(argv[i + 1]));
    const int n = world.size();
    if (world.root()) {
        std::printf("# %d ranks, MPI %s, %d repeats; median of each\n", n, built_with_mpi() ? "on" : "off", repeats);
        std::printf("%12s %12s %12s %12s\n", "bytes", "ms", "alg GB/s", "bus GB/s");
    }
    std::vector<std::size_t> sizes;
    for (std::size_t floats = 1024; floats <= (std::size_t{16} << 20); floats *= 4) sizes.push_back(floats);
    sizes.push_back(6'425'000);  // the sentence VAE's gradients, 25.7 MB
    std::sort(sizes.begin(), sizes.end());
    for (std::size_t floats : sizes) {
        std::vector<float> data(floats, 1.0f);
        world.sum(data.data(), data.size());  // warm-up (and the connection's set-up)
        std::vector<double> ms;
        for (int r = 0; r < repeats; ++r) {
            double t = 0.0;
            world.sum(&t, 1);  // start together
            const auto t0 = std::chrono::steady_clock::now();
            world.sum(data.data(), data.size());
            t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            world.sum(&t, 1);  // the ranks' mean
            ms.push_back(t / n);
        }
        std::nth_element(ms.begin(), ms.begin() + static_cast<long>(ms.size() / 2), ms.end());
        const double median = ms[ms.size() / 2], bytes = 4.0 * static_cast<double>(floats);
        const double alg = bytes / (median * 1e-3) / 1e9;
        if (world.root()) std::printf("%12.0f %12.4f %12.3f %12.3f\n", bytes, median, alg, alg * 2.0 * (n - 1) / n);
    }
    return 0;
}
