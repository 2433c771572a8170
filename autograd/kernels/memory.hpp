// Where every Array's elements live: 64-byte aligned blocks, with a per-thread
// cache of freed small blocks.
//
// Why: a recorded op on a small tensor allocates its output, and its backward rule
// one or two gradients. Through glibc's aligned allocation (posix_memalign), a
// large share of the time of a chain of small ops went to allocating and freeing
// them (docs/performance.md, "What made it fast"). Training steps allocate the same
// sizes again and again, so a freed block of up to `cached_block_limit` bytes goes
// on its thread's list for its size class (multiples of 64 bytes), and the next
// request of that class takes it back in a few instructions. Larger blocks go
// straight to the system allocator, tuned here to keep them in its heap for reuse
// (memory.cpp). The cache holds at most `cached_bytes_limit` bytes per thread, so
// it cannot grow the peak memory much.
// Read next: ../array.hpp (the Array type that uses this allocator).
#pragma once

#include <cstddef>
#include <limits>
#include <new>
#include <utility>

namespace tapegrad::kernels {

inline constexpr std::size_t alignment = 64;  // a cache line: a block's first 64-byte load never straddles two
inline constexpr std::size_t cached_block_limit = std::size_t{64} << 10;
inline constexpr std::size_t cached_bytes_limit = std::size_t{16} << 20;

// A block of at least `bytes` bytes aligned to `alignment`; throws std::bad_alloc.
void* allocate(std::size_t bytes);
// Returns a block from allocate() of the same `bytes`, from any thread.
void deallocate(void* block, std::size_t bytes) noexcept;

// Returns every block this thread's cache holds to the system (after training, say,
// before work of other sizes).
void release_cache() noexcept;

// Blocks this thread's cache holds now, and their bytes.
struct CacheStats {
    std::size_t blocks = 0;
    std::size_t bytes = 0;
};
CacheStats cache_stats();

// Gives memory freed so far back to the operating system (glibc's malloc_trim):
// worth calling once after loading data, whose many small temporary allocations
// would otherwise stay mapped as holes the tensors of training cannot reuse.
void release_unused_memory();

// The standard allocator interface over allocate/deallocate, for Array's storage.
template <class T>
struct Allocator {
    using value_type = T;
    Allocator() noexcept = default;
    template <class U>
    Allocator(const Allocator<U>&) noexcept {}
    T* allocate(std::size_t n) {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(kernels::allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { kernels::deallocate(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const Allocator<U>&) const noexcept { return true; }
};

// An owned run of uninitialised floats from allocate(): the scratch space and the
// saved state of kernels that need more than their arguments' buffers.
class Buffer {
public:
    Buffer() = default;
    explicit Buffer(std::size_t n) : data_(n ? Allocator<float>().allocate(n) : nullptr), size_(n) {}
    ~Buffer() { Allocator<float>().deallocate(data_, size_); }
    Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr, o.size_ = 0; }
    Buffer& operator=(Buffer&& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        return *this;
    }
    float* data() { return data_; }
    const float* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    float* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace tapegrad::kernels
