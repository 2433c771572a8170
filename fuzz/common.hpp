// Shared by the fuzz targets. The loaders read files, so each target writes the
// fuzzer's bytes to a file of its own (one per process, removed at exit) and hands
// the loader its path. A tapegrad::Error is the expected answer to bad input; with
// TAPEGRAD_FUZZ_VERBOSE set, its message is printed (to see why a seed is refused).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace tapegrad::fuzz {

class ScratchFile {
public:
    explicit ScratchFile(const std::string& name)
        : path_((std::filesystem::temp_directory_path() /
                 ("tapegrad_fuzz_" + std::to_string(::getpid()) + "_" + name))
                    .string()) {}
    ~ScratchFile() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;

    // Replaces the file's content; returns its path.
    const std::string& write(const std::uint8_t* data, std::size_t size) {
        std::ofstream(path_, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                       static_cast<std::streamsize>(size));
        return path_;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline void refused(const std::exception& e) {
    static const bool verbose = std::getenv("TAPEGRAD_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::cerr << "refused: " << e.what() << "\n";
}

}  // namespace tapegrad::fuzz
