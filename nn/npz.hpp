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
// Parses an .npy; `where` names the source in error messages. The shape is checked
// against the bytes present (with overflow checks) before the array is allocated.
NpyArray parse_npy(const std::string& data, const std::string& where);

// A file written atomically: bytes go to a temporary file in the same folder; on
// commit() it is fsynced and renamed over `path` (and the folder fsynced), so a
// crash never leaves a half-written file under the real name. Without commit(),
// the destructor removes the temporary file.
class AtomicFile {
public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    void write(const std::string& bytes);
    std::size_t size() const { return written_; }
    void commit();

private:
    std::string path_, tmp_;
    int fd_ = -1;
    std::size_t written_ = 0;
};

// Streams {name}.npy entries into a zip archive written atomically: only the
// entry being added is in memory, not the whole archive.
class NpzWriter {
public:
    explicit NpzWriter(const std::string& path) : file_(path), path_(path) {}
    void add(const std::string& name, const std::string& npy);
    void close();  // writes the central directory and commits the file

private:
    AtomicFile file_;
    std::string path_, central_;
    std::size_t count_ = 0;
};

// The same for a list of entries at once.
void write_npz(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries);
// Reads every entry (name without ".npy", the .npy bytes). Entries may neither share
// a name nor overlap, so what is returned is never larger than the file.
std::vector<std::pair<std::string, std::string>> read_npz(const std::string& path);

// Writes bytes to `path` atomically (temporary file, fsync, rename, fsync of the folder).
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace tapegrad::nn
