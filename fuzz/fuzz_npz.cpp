// Fuzzes the .npz reader and the .npy parser under it: the bytes as an .npz file,
// every entry parsed as an .npy array.
// A tapegrad::Error is the expected answer to bad input; anything else is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz/common.hpp"
#include "nn/npz.hpp"

using namespace tapegrad;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::ScratchFile file("arrays.npz");
    try {
        for (const auto& [name, bytes] : nn::read_npz(file.write(data, size))) {
            try {
                nn::parse_npy(bytes, name);
            } catch (const Error& e) {
                fuzz::refused(e);
            }
        }
    } catch (const Error& e) {
        fuzz::refused(e);
    }
    return 0;
}
