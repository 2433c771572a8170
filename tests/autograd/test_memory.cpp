// The Array allocator: alignment, reuse of freed small blocks within a thread, the
// bounds on what the cache keeps, and blocks that cross threads.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <new>
#include <thread>
#include <vector>

#include "tests/support/check.hpp"

using namespace tapegrad;

namespace {
bool aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % kernels::alignment == 0; }
}  // namespace

TEST_CASE("memory: every block is 64-byte aligned, whatever its size") {
    for (std::size_t bytes : {std::size_t{0}, std::size_t{1}, std::size_t{4}, std::size_t{63}, std::size_t{64},
                              std::size_t{65}, std::size_t{2048}, kernels::cached_block_limit,
                              kernels::cached_block_limit + 4, std::size_t{1} << 22}) {
        void* p = kernels::allocate(bytes);
        CHECK_MESSAGE(aligned(p), bytes << " bytes");
        kernels::deallocate(p, bytes);
    }
    const Array a = Array::from_shape({3, 7});
    CHECK(aligned(a.data()));
}

TEST_CASE("memory: a freed small block comes back for the next request of its size class") {
    kernels::release_cache();  // the tests before this one leave blocks behind
    void* p = kernels::allocate(2048);
    const auto before = kernels::cache_stats();
    kernels::deallocate(p, 2048);
    const auto cached = kernels::cache_stats();
    CHECK(cached.blocks == before.blocks + 1);
    CHECK(cached.bytes == before.bytes + 2048);
    // 2040 bytes round up to the same class of 32 x 64 bytes.
    void* q = kernels::allocate(2040);
    CHECK(q == p);
    CHECK(kernels::cache_stats().blocks == before.blocks);
    // The reused block is whole: every byte of the class can be written.
    std::vector<unsigned char> pattern(2048, 0xab);
    std::copy(pattern.begin(), pattern.end(), static_cast<unsigned char*>(q));
    kernels::deallocate(q, 2040);

    // An Array's storage goes the same way.
    const float* data = nullptr;
    {
        Array a = Array::from_shape({16, 32});
        data = a.data();
    }
    Array b = Array::from_shape({32, 16});
    CHECK(b.data() == data);
}

TEST_CASE("memory: large blocks bypass the cache, and the cache stays within its byte limit") {
    kernels::release_cache();  // the tests before this one leave blocks behind
    const auto before = kernels::cache_stats();
    void* big = kernels::allocate(kernels::cached_block_limit + 1);
    kernels::deallocate(big, kernels::cached_block_limit + 1);
    CHECK(kernels::cache_stats().blocks == before.blocks);

    // Free twice the limit's worth of the largest cached class: only up to the limit stays.
    const std::size_t n = 2 * kernels::cached_bytes_limit / kernels::cached_block_limit;
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < n; ++i) blocks.push_back(kernels::allocate(kernels::cached_block_limit));
    for (void* p : blocks) kernels::deallocate(p, kernels::cached_block_limit);
    CHECK(kernels::cache_stats().bytes <= kernels::cached_bytes_limit);
    CHECK(kernels::cache_stats().bytes > kernels::cached_bytes_limit - kernels::cached_block_limit);
    kernels::release_cache();
    CHECK(kernels::cache_stats().blocks == 0);
    CHECK(kernels::cache_stats().bytes == 0);
}

TEST_CASE("memory: a block may be freed on another thread than the one that allocated it") {
    kernels::release_cache();  // the tests before this one leave blocks behind
    std::vector<Array> made(8);
    std::thread maker([&] {
        for (std::size_t i = 0; i < made.size(); ++i) made[i] = xt::ones<float>(Shape{i + 1, 5});
        // This thread's own cache: a block freed here is reused here.
        Array t = Array::from_shape({4, 4});
        const float* d = t.data();
        t = Array::from_shape({0});
        CHECK(Array::from_shape({2, 8}).data() == d);
    });
    maker.join();  // the maker's cache is gone; its Arrays live on
    for (std::size_t i = 0; i < made.size(); ++i) CHECK(xt::sum(made[i])() == doctest::Approx(5.0 * (i + 1)));
    const auto before = kernels::cache_stats();
    made.clear();  // freed here, into this thread's cache
    CHECK(kernels::cache_stats().blocks == before.blocks + 8);
    kernels::release_cache();
}

TEST_CASE("memory: a request too large to represent is refused, not wrapped around") {
    constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
    CHECK_THROWS_AS(kernels::allocate(max - 10), std::bad_alloc);
    CHECK_THROWS_AS(kernels::Allocator<float>().allocate(max / 2), std::bad_alloc);
}

namespace {
// Constructed empty before the thread's cache exists, so destroyed after it.
thread_local std::optional<Array> outlives_cache;
}  // namespace

TEST_CASE("memory: an Array freed after its thread's cache is gone goes to the system") {
    // Checked by a sanitizer build (-Db_sanitize=address): were the block put on the
    // destroyed cache's list, LeakSanitizer would report it at exit.
    std::thread t([] {
        outlives_cache.emplace();  // the optional exists before the first allocation
        outlives_cache->resize({64});
        Array scratch = Array::from_shape({8});
        CHECK(kernels::cache_stats().blocks == 0);
        scratch = Array::from_shape({0});
        CHECK(kernels::cache_stats().blocks == 1);
    });  // at exit: the cache frees its block and is destroyed, then outlives_cache frees its own
    t.join();
}
