// The block allocator, and the settings of the system allocator behind it.
#include "autograd/kernels/memory.hpp"

#include <malloc.h>

#include <array>
#include <cstdlib>
#include <limits>
#include <new>
#include <utility>

namespace tapegrad::kernels {

namespace {

// glibc serves every block above 128 KiB with mmap and unmaps it on free, so a
// training step that allocates the same activations again pays a page fault per
// 4 KiB every step (docs/performance.md). Keeping blocks up to 32 MiB (glibc's
// maximum) in the heap lets them be reused; RSS stays at the step's peak. Set
// once, when the library is loaded.
const bool system_allocator_tuned = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 64 << 20);
    return true;
}();

constexpr std::size_t classes = cached_block_limit / alignment;

// Size class c (1..classes) holds blocks of c * alignment bytes; 0 is unused.
std::size_t class_of(std::size_t bytes) { return bytes == 0 ? 1 : (bytes + alignment - 1) / alignment; }

void* system_allocate(std::size_t bytes) {
    if (bytes > std::numeric_limits<std::size_t>::max() - alignment) throw std::bad_alloc();
    // aligned_alloc wants a multiple of the alignment.
    void* p = std::aligned_alloc(alignment, class_of(bytes) * alignment);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

// A freed block holds the link to the next one of its class.
struct FreeBlock {
    FreeBlock* next;
};

struct Cache {
    std::array<FreeBlock*, classes + 1> lists{};
    std::size_t bytes = 0;  // what the lists hold, kept for the bound on each free
    void release() noexcept;
    ~Cache();
};

// Set once this thread's cache is destroyed: Arrays in static storage outlive the
// main thread's thread_local objects, and their blocks then go to the system.
thread_local bool cache_gone = false;
thread_local Cache cache;

void Cache::release() noexcept {
    for (FreeBlock*& head : lists)
        while (head != nullptr) std::free(std::exchange(head, head->next));
    bytes = 0;
}

Cache::~Cache() {
    cache_gone = true;
    release();
}

}  // namespace

void* allocate(std::size_t bytes) {
    if (bytes <= cached_block_limit && !cache_gone) {
        const std::size_t c = class_of(bytes);
        if (FreeBlock* b = cache.lists[c]) {
            cache.lists[c] = b->next;
            cache.bytes -= c * alignment;
            return b;
        }
    }
    return system_allocate(bytes);
}

void deallocate(void* block, std::size_t bytes) noexcept {
    if (block == nullptr) return;
    if (bytes <= cached_block_limit && !cache_gone) {
        const std::size_t c = class_of(bytes);
        if (cache.bytes + c * alignment <= cached_bytes_limit) {
            auto* b = static_cast<FreeBlock*>(block);
            b->next = cache.lists[c];
            cache.lists[c] = b;
            cache.bytes += c * alignment;
            return;
        }
    }
    std::free(block);
}

void release_cache() noexcept {
    if (!cache_gone) cache.release();
}

CacheStats cache_stats() {
    if (cache_gone) return {};
    CacheStats s{0, cache.bytes};
    for (const FreeBlock* b : cache.lists)
        for (; b != nullptr; b = b->next) ++s.blocks;
    return s;
}

void release_unused_memory() { malloc_trim(0); }

}  // namespace tapegrad::kernels
