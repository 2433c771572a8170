// Fuzzes the IDX image loader (MNIST, Fashion-MNIST; gzip or plain). Input layout:
// one flag byte; if its low bit is set, a big-endian u32 n follows, then n bytes of
// image file and the rest as label file; otherwise the rest is the image file alone.
// A tapegrad::Error is the expected answer to bad input; anything else is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/common.hpp"
#include "models/data/images.hpp"

using namespace tapegrad;
using namespace tapegrad::models::data;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::ScratchFile images("images-idx3-ubyte"), labels("labels-idx1-ubyte");
    if (size < 1) return 0;
    const bool with_labels = data[0] & 1;
    ++data;
    --size;
    std::size_t image_bytes = size;
    if (with_labels) {
        if (size < 4) return 0;
        const std::size_t n = (std::size_t{data[0]} << 24) | (std::size_t{data[1]} << 16) | (std::size_t{data[2]} << 8) | data[3];
        data += 4;
        size -= 4;
        image_bytes = std::min(n, size);
        labels.write(data + image_bytes, size - image_bytes);
    }
    try {
        const ImageSet set = read_idx(images.write(data, image_bytes), with_labels ? labels.path() : "");
        if (set.count > 0) {  // the first and last image as a batch, as training would ask
            autograd::Generator g(1);
            image_batch(set, {0, set.count - 1}, Binarize::dynamic, g);
        }
    } catch (const Error& e) {
        fuzz::refused(e);
    }
    return 0;
}
