#include "nn/npz.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

namespace tapegrad::nn {

namespace {

// ---- .npy ----
// Layout: "\x93NUMPY", version (1, 0), little-endian u16 header length, then an ASCII
// Python dict padded with spaces to a multiple of 64 bytes and ended by '\n', then data.
std::string npy_header(const std::string& descr, const std::string& shape) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    const std::size_t unpadded = 10 + dict.size() + 1;
    dict += std::string((64 - unpadded % 64) % 64, ' ') + '\n';
    std::string h = "\x93NUMPY";
    h += '\x01';
    h += '\x00';
    h += static_cast<char>(dict.size() & 0xff);
    h += static_cast<char>((dict.size() >> 8) & 0xff);
    return h + dict;
}

// The value of `key` in the header dict, as text ('<f4', False, (3, 4)).
std::string dict_value(const std::string& dict, const std::string& key, const std::string& where) {
    const std::size_t k = dict.find("'" + key + "'");
    if (k == std::string::npos) throw Error(where + ": .npy header has no '" + key + "' field");
    std::size_t v = dict.find(':', k);
    if (v == std::string::npos) throw Error(where + ": malformed .npy header");
    ++v;
    while (v < dict.size() && dict[v] == ' ') ++v;
    std::size_t end = v;
    if (v < dict.size() && dict[v] == '(') {
        end = dict.find(')', v);
        if (end == std::string::npos) throw Error(where + ": malformed shape in .npy header");
        return dict.substr(v, end - v + 1);
    }
    if (v < dict.size() && dict[v] == '\'') {
        end = dict.find('\'', v + 1);
        if (end == std::string::npos) throw Error(where + ": malformed .npy header");
        return dict.substr(v + 1, end - v - 1);
    }
    while (end < dict.size() && dict[end] != ',' && dict[end] != '}') ++end;
    while (end > v && dict[end - 1] == ' ') --end;
    return dict.substr(v, end - v);
}

// "(3, 4)", "(3,)" or "()": the extents of a shape tuple. Anything else (negative or
// non-numeric extents, a missing parenthesis) is refused.
Shape parse_shape(const std::string& text, const std::string& where) {
    const auto bad = [&] { return Error(where + ": malformed shape " + text + " in .npy header"); };
    if (text.size() < 2 || text.front() != '(' || text.back() != ')') throw bad();
    Shape shape;
    std::size_t i = 1;
    const std::size_t end = text.size() - 1;
    auto skip_spaces = [&] {
        while (i < end && text[i] == ' ') ++i;
    };
    skip_spaces();
    while (i < end) {
        std::size_t n = 0, digits = 0;
        for (; i < end && text[i] >= '0' && text[i] <= '9'; ++i, ++digits)
            if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, static_cast<std::size_t>(text[i] - '0'), &n))
                throw bad();
        if (digits == 0) throw bad();
        shape.push_back(n);
        skip_spaces();
        if (i == end) break;
        if (text[i] != ',') throw bad();
        ++i;
        skip_spaces();
    }
    // NumPy writes a one-element tuple as "(3,)" and never "(3)"; both read the same.
    return shape;
}

std::uint32_t u32(const std::string& b, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
    return v;
}
std::uint16_t u16(const std::string& b, std::size_t at) {
    return static_cast<std::uint16_t>(static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8));
}
void put32(std::string& b, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b += static_cast<char>((v >> (8 * i)) & 0xff);
}
void put16(std::string& b, std::uint16_t v) {
    b += static_cast<char>(v & 0xff);
    b += static_cast<char>(v >> 8);
}

std::uint32_t crc(const std::string& data) {
    return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

[[noreturn]] void fail_io(const std::string& what, const std::string& path) {
    throw Error(what + " " + path + ": " + std::strerror(errno));
}

// The bytes of a file; every failure (a folder, a read error) as an Error naming it.
std::string read_whole_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) fail_io("cannot open", path);
    std::string b;
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            errno = err;
            fail_io("cannot read", path);
        }
        if (n == 0) break;
        b.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return b;
}

}  // namespace

std::string npy_bytes(const Array& a) {
    std::string shape = "(";
    for (std::size_t i = 0; i < a.dimension(); ++i) shape += std::to_string(a.shape()[i]) + (a.dimension() == 1 ? "," : (i + 1 < a.dimension() ? ", " : ""));
    shape += ")";
    std::string out = npy_header("<f4", shape);
    out.append(reinterpret_cast<const char*>(a.data()), a.size() * sizeof(float));
    return out;
}

std::string npy_bytes(const std::string& raw) {
    return npy_header("|u1", "(" + std::to_string(raw.size()) + ",)") + raw;
}

NpyArray parse_npy(const std::string& d, const std::string& where) {
    if (d.size() < 10 || d.compare(0, 6, "\x93NUMPY") != 0) throw Error(where + ": not an .npy array (bad magic)");
    const int major = static_cast<unsigned char>(d[6]);
    std::size_t header_len, start;
    if (major == 1) {
        header_len = u16(d, 8);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (d.size() < 12) throw Error(where + ": truncated .npy header");
        header_len = u32(d, 8);
        start = 12;
    } else {
        throw Error(where + ": unsupported .npy version " + std::to_string(major));
    }
    if (start + header_len > d.size()) throw Error(where + ": truncated .npy header");
    const std::string dict = d.substr(start, header_len);
    const std::string descr = dict_value(dict, "descr", where);
    if (dict_value(dict, "fortran_order", where) != "False")
        throw Error(where + ": Fortran-ordered arrays are not supported (save a C-ordered copy)");
    const Shape shape = parse_shape(dict_value(dict, "shape", where), where);
    const std::size_t data_at = start + header_len, data_bytes = d.size() - data_at;
    std::size_t item;
    if (descr == "<f4")
        item = 4;
    else if (descr == "|u1" || descr == "<u1")
        item = 1;
    else
        throw Error(where + ": dtype '" + descr + "' is not supported (float32 arrays expected)");
    // Elements the shape needs, checked against the bytes present before anything is
    // allocated: a header may claim any shape. The product of the non-zero extents
    // must fit too, or xtensor's strides would overflow for an empty array.
    std::size_t extent = 1;  // the product of the non-zero extents
    bool empty = false, fits = true;
    for (auto n : shape) {
        if (n == 0)
            empty = true;
        else if (__builtin_mul_overflow(extent, n, &extent))
            fits = false;
    }
    const std::size_t count = empty ? 0 : extent;
    if (!fits || extent > std::numeric_limits<std::size_t>::max() / item)
        throw Error(where + ": shape " + shape_str(shape) + " is too large (corrupt header)");
    if (data_bytes != count * item)
        throw Error(where + ": holds " + std::to_string(data_bytes) + " data bytes, shape " + shape_str(shape) + " needs " +
                    std::to_string(count * item) + " (truncated or corrupt)");
    NpyArray out;
    out.dtype = descr;
    if (item == 4) {
        out.floats = Array::from_shape(shape);
        if (count) std::memcpy(out.floats.data(), d.data() + data_at, data_bytes);
    } else {
        out.bytes = d.substr(data_at);
    }
    return out;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    namespace fs = std::filesystem;
    const fs::path target(path_);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    tmp_ = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(getpid()))).string();
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_ < 0) fail_io("cannot create", tmp_);
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) {  // not committed: leave nothing behind
        ::close(fd_);
        ::unlink(tmp_.c_str());
    }
}

void AtomicFile::write(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_io("cannot write", tmp_);
        }
        done += static_cast<std::size_t>(n);
    }
    written_ += bytes.size();
}

void AtomicFile::commit() {
    namespace fs = std::filesystem;
    const int fd = fd_;
    fd_ = -1;
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(tmp_.c_str());
        fail_io("cannot flush", tmp_);
    }
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
        ::unlink(tmp_.c_str());
        fail_io("cannot rename into", path_);
    }
    const fs::path target(path_);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {  // make the rename itself durable
        ::fsync(dfd);
        ::close(dfd);
    }
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
    AtomicFile f(path);
    f.write(bytes);
    f.commit();
}

// Zip layout (stored entries, no zip64: every size < 4 GiB): for each entry a local
// header + name + data; then the central directory (one header per entry); then the
// end-of-central-directory record.
namespace {
constexpr std::uint16_t dos_date = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: fixed, so equal content gives equal files
}

void NpzWriter::add(const std::string& name, const std::string& data) {
    const std::string file = name + ".npy";
    if (data.size() >= 0xffffffffu || file_.size() >= 0xffffffffu)
        throw Error("write_npz " + path_ + ": archives over 4 GiB are not supported");
    const std::uint32_t c = crc(data), offset = static_cast<std::uint32_t>(file_.size());
    std::string local;
    put32(local, 0x04034b50);
    put16(local, 20);
    put16(local, 0);
    put16(local, 0);  // stored
    put16(local, 0);
    put16(local, dos_date);
    put32(local, c);
    put32(local, static_cast<std::uint32_t>(data.size()));
    put32(local, static_cast<std::uint32_t>(data.size()));
    put16(local, static_cast<std::uint16_t>(file.size()));
    put16(local, 0);
    file_.write(local + file);
    file_.write(data);

    put32(central_, 0x02014b50);
    put16(central_, 20);
    put16(central_, 20);
    put16(central_, 0);
    put16(central_, 0);
    put16(central_, 0);
    put16(central_, dos_date);
    put32(central_, c);
    put32(central_, static_cast<std::uint32_t>(data.size()));
    put32(central_, static_cast<std::uint32_t>(data.size()));
    put16(central_, static_cast<std::uint16_t>(file.size()));
    put16(central_, 0);
    put16(central_, 0);
    put16(central_, 0);
    put16(central_, 0);
    put32(central_, 0);
    put32(central_, offset);
    central_ += file;
    ++count_;
}

void NpzWriter::close() {
    const std::uint32_t cd_offset = static_cast<std::uint32_t>(file_.size());
    std::string end = central_;
    put32(end, 0x06054b50);
    put16(end, 0);
    put16(end, 0);
    put16(end, static_cast<std::uint16_t>(count_));
    put16(end, static_cast<std::uint16_t>(count_));
    put32(end, static_cast<std::uint32_t>(central_.size()));
    put32(end, cd_offset);
    put16(end, 0);
    file_.write(end);
    file_.commit();
}

void write_npz(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
    NpzWriter w(path);
    for (const auto& [name, data] : entries) w.add(name, data);
    w.close();
}

std::vector<std::pair<std::string, std::string>> read_npz(const std::string& path) {
    const std::string b = read_whole_file(path);
    auto bad = [&](const std::string& why) { return Error(path + ": " + why); };
    if (b.size() < 22) throw bad("too short to be an .npz (" + std::to_string(b.size()) + " bytes): truncated or not a checkpoint");
    // The end-of-central-directory record sits at the end, before an optional comment.
    std::size_t eocd = std::string::npos;
    for (std::size_t i = b.size() - 22 + 1; i-- > 0 && b.size() - i <= 22 + 65535;)
        if (u32(b, i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == std::string::npos) throw bad("not a zip/.npz archive (no end-of-central-directory record): truncated or corrupt");
    const std::size_t count = u16(b, eocd + 10), cd_size = u32(b, eocd + 12), cd_offset = u32(b, eocd + 16);
    if (cd_offset + cd_size > eocd) throw bad("central directory lies outside the file: truncated or corrupt");
    std::vector<std::pair<std::string, std::string>> out;
    // Each entry's local header and data, [begin, end): they may not overlap, so the
    // entries together never hold more bytes than the file (a crafted directory could
    // otherwise point thousands of entries at the same large data).
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    std::set<std::string> names;
    std::size_t at = cd_offset;
    for (std::size_t e = 0; e < count; ++e) {
        if (at + 46 > eocd || u32(b, at) != 0x02014b50) throw bad("damaged central directory entry " + std::to_string(e));
        const std::uint16_t method = u16(b, at + 10);
        const std::uint32_t c = u32(b, at + 16), csize = u32(b, at + 20), usize = u32(b, at + 24);
        const std::size_t nlen = u16(b, at + 28), xlen = u16(b, at + 30), clen = u16(b, at + 32);
        const std::size_t local = u32(b, at + 42);
        if (at + 46 + nlen > eocd) throw bad("damaged central directory entry " + std::to_string(e));
        const std::string name = b.substr(at + 46, nlen);
        at += 46 + nlen + xlen + clen;
        if (method != 0)
            throw bad("entry '" + name + "' is compressed; only stored entries are supported (numpy.savez, not savez_compressed)");
        if (local + 30 > cd_offset || u32(b, local) != 0x04034b50) throw bad("entry '" + name + "': damaged local header");
        const std::size_t data = local + 30 + u16(b, local + 26) + u16(b, local + 28);
        if (csize != usize || data + csize > cd_offset)
            throw bad("entry '" + name + "' extends past its place in the archive: truncated or corrupt");
        spans.emplace_back(local, data + csize);
        std::string key = name;
        if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
        if (!names.insert(key).second) throw bad("entry '" + name + "' appears twice: corrupt");
        std::string bytes = b.substr(data, csize);
        if (crc(bytes) != c) throw bad("entry '" + name + "' fails its CRC check: the file is corrupt");
        out.emplace_back(key, std::move(bytes));
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i].first < spans[i - 1].second) throw bad("entries overlap in the archive: corrupt");
    return out;
}

}  // namespace tapegrad::nn
