// .npy and .npz files as NumPy writes them, so numpy.load opens what we save.
// An .npz is a zip archive of .npy files; we write and read the stored (not
// compressed) kind that numpy.savez produces. Reading checks every size, offset and
// CRC and reports the file, the entry and the reason of any problem.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "autograd/array.hpp"

namespace tapegrad::nn {

// The bytes of an .npy file holding a float32 array, or raw bytes as a uint8 vector.
std::string npy_bytes(const Array& a);
std::string npy_bytes(const std::string& raw);

// One array read back: float32 data, or uint8 bytes (kept as a string).
struct NpyArray {
    std::string dtype;  // "<f4" or "|u1"
    Array floats;       // for "<f4"
    std::string bytes;  // for "|u1" (1-D)
};
// Parses an .npy; `where` names the source in error messages.
NpyArray parse_npy(const std::string& data, const std::string& where);

// Writes {name}.npy entries into a zip file at `path` atomically: a temporary file
// in the same folder, fsync, then rename over `path` (a crash never leaves a
// half-written file under the real name).
void write_npz(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries);
// Reads every entry (name without ".npy", the .npy bytes).
std::vector<std::pair<std::string, std::string>> read_npz(const std::string& path);

// Writes bytes to `path` atomically (temporary file, fsync, rename, fsync of the folder).
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace tapegrad::nn
