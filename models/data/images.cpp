#include "models/data/images.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace tapegrad::models::data {

namespace {

// gzread reads gzip files and plain files alike.
class GzFile {
public:
    explicit GzFile(const std::string& path) : path_(path) {
        if (!std::filesystem::exists(path)) throw Error(path + ": cannot open: no such file");
        if (std::filesystem::is_directory(path)) throw Error(path + ": cannot open: it is a folder, not a file");
        f_ = gzopen(path.c_str(), "rb");
        if (!f_) throw Error(path + ": cannot open: " + std::strerror(errno));
    }
    ~GzFile() {
        if (f_) gzclose(f_);
    }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;

    // Reads exactly n bytes, or explains why not.
    void read(void* dst, std::size_t n, const std::string& what) {
        const std::size_t done = read_some(static_cast<char*>(dst), n, what);
        if (done < n)
            throw Error(path_ + ": truncated: expected " + std::to_string(n) + " bytes of " + what + ", found " +
                        std::to_string(done));
    }
    // Reads the n bytes a header announced into `out`, never reserving more than the
    // file can hold: its own size for a plain file, 1032 times it for a gzip file
    // (deflate's largest expansion). Within that, the buffer is reserved once (the
    // real files then cost their size, not a copy on each growth) and filled chunk by
    // chunk, so memory is touched only as data arrives.
    void read_announced(std::vector<std::uint8_t>& out, std::size_t n, const std::string& what,
                        const std::string& announced) {
        constexpr std::size_t chunk = std::size_t{1} << 20;
        const std::size_t file_bytes = static_cast<std::size_t>(std::filesystem::file_size(path_));
        const std::size_t can_hold = gzdirect(f_) ? file_bytes : 1032 * file_bytes + chunk;
        out.clear();
        out.reserve(std::min(n, can_hold));
        std::size_t done = 0;
        while (done < n) {
            const std::size_t size = std::min(n, done + chunk);
            out.resize(size);  // within the reserved capacity unless the file lied about what it holds
            const std::size_t got = read_some(reinterpret_cast<char*>(out.data()) + done, size - done, what);
            done += got;
            if (done < size)
                throw Error(path_ + ": truncated: the header announces " + announced + " (" + std::to_string(n) + " bytes of " +
                            what + "), the file holds " + std::to_string(done));
        }
    }
    bool at_end() {
        char c;
        const int got = gzread(f_, &c, 1);
        if (got < 0) throw_read_error("at the end");
        return got == 0;
    }
    std::uint32_t be32(const std::string& what) {
        unsigned char b[4];
        read(b, 4, what);
        return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
    }

private:
    // Reads up to n bytes; fewer only at the end of the data.
    std::size_t read_some(char* dst, std::size_t n, const std::string& what) {
        std::size_t done = 0;
        while (done < n) {
            const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
            const int got = gzread(f_, dst + done, chunk);
            if (got < 0) throw_read_error("while reading " + what);
            if (got == 0) break;
            done += static_cast<std::size_t>(got);
        }
        return done;
    }
    [[noreturn]] void throw_read_error(const std::string& where) {
        int code = 0;
        const char* msg = gzerror(f_, &code);
        if (code == Z_ERRNO) throw Error(path_ + ": read error " + where + " (" + std::strerror(errno) + ")");
        throw Error(path_ + ": corrupt gzip stream " + where + " (" + msg + ")");
    }

    std::string path_;
    gzFile f_ = nullptr;
};

std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

}  // namespace

ImageSet read_idx(const std::string& images_path, const std::string& labels_path) {
    ImageSet set;
    {
        GzFile f(images_path);
        const std::uint32_t magic = f.be32("the header");
        if (magic != 0x00000803)
            throw Error(images_path + ": wrong magic number " + hex32(magic) + " (an IDX image file starts with 0x00000803)");
        set.count = f.be32("the header");
        set.rows = f.be32("the header");
        set.cols = f.be32("the header");
        if (set.rows == 0 || set.cols == 0 || set.rows > 4096 || set.cols > 4096 || set.count > (1u << 28))
            throw Error(images_path + ": implausible dimensions " + std::to_string(set.count) + " x " +
                        std::to_string(set.rows) + " x " + std::to_string(set.cols));
        f.read_announced(set.pixels, set.count * set.rows * set.cols, "pixel data",
                         std::to_string(set.count) + " images of " + std::to_string(set.rows) + " x " +
                             std::to_string(set.cols));
        if (!f.at_end()) throw Error(images_path + ": trailing bytes after " + std::to_string(set.count) + " images");
    }
    if (!labels_path.empty()) {
        GzFile f(labels_path);
        const std::uint32_t magic = f.be32("the header");
        if (magic != 0x00000801)
            throw Error(labels_path + ": wrong magic number " + hex32(magic) + " (an IDX label file starts with 0x00000801)");
        const std::uint32_t n = f.be32("the header");
        if (n != set.count)
            throw Error(labels_path + ": " + std::to_string(n) + " labels for " + std::to_string(set.count) + " images in " +
                        images_path);
        f.read_announced(set.labels, n, "labels", std::to_string(n) + " labels");
        if (!f.at_end()) throw Error(labels_path + ": trailing bytes after " + std::to_string(n) + " labels");
    }
    return set;
}

ImageSet read_idx_split(const std::string& folder, const std::string& prefix) {
    return read_idx(folder + "/" + prefix + "-images-idx3-ubyte.gz", folder + "/" + prefix + "-labels-idx1-ubyte.gz");
}

Binarize parse_binarize(const std::string& name) {
    if (name == "none") return Binarize::none;
    if (name == "fixed") return Binarize::fixed;
    if (name == "dynamic") return Binarize::dynamic;
    throw Error("unknown binarisation '" + name + "' (expected none, fixed or dynamic)");
}

void binarize_fixed(ImageSet& set, std::uint64_t seed) {
    autograd::Generator g(seed);
    for (auto& p : set.pixels) p = g.uniform() * 255.0f < static_cast<float>(p) ? 255 : 0;
}

Array image_batch(const ImageSet& set, const std::vector<std::size_t>& rows, Binarize mode, autograd::Generator& g) {
    const std::size_t D = set.pixels_per_image();
    Array x = Array::from_shape({rows.size(), D});
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] >= set.count) throw Error("image_batch: row " + std::to_string(rows[i]) + " out of range");
        const std::uint8_t* src = set.pixels.data() + rows[i] * D;
        float* dst = x.data() + i * D;
        for (std::size_t k = 0; k < D; ++k) dst[k] = static_cast<float>(src[k]) * (1.0f / 255.0f);
        if (mode == Binarize::dynamic)
            for (std::size_t k = 0; k < D; ++k) dst[k] = g.uniform() < dst[k] ? 1.0f : 0.0f;
    }
    return x;
}

std::vector<std::vector<std::size_t>> plan_image_batches(std::size_t count, std::size_t batch_size, bool shuffle,
                                                         std::uint64_t seed) {
    if (batch_size == 0) throw Error("plan_image_batches: batch size must be positive");
    std::vector<std::size_t> rows(count);
    for (std::size_t i = 0; i < count; ++i) rows[i] = i;
    if (shuffle) {
        autograd::Generator g(seed);
        for (std::size_t i = count; i > 1; --i) std::swap(rows[i - 1], rows[g.below(i)]);
    }
    std::vector<std::vector<std::size_t>> out;
    for (std::size_t i = 0; i < count; i += batch_size)
        out.emplace_back(rows.begin() + static_cast<std::ptrdiff_t>(i),
                         rows.begin() + static_cast<std::ptrdiff_t>(std::min(count, i + batch_size)));
    return out;
}

}  // namespace tapegrad::models::data
