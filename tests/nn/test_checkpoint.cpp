// Checkpoints: round trip, NumPy can read them, damaged files and misfits are
// refused with messages that name the problem, writes are atomic.
#include <cstdlib>
#include <limits>
#include <filesystem>
#include <fstream>

#include "nn/nn.hpp"
#include "tests/support/check.hpp"

#include <xtensor/xnpy.hpp>

using namespace tapegrad;
using namespace tapegrad::nn;
namespace fs = std::filesystem;

namespace {
struct Tiny : Module {
    Tiny(std::size_t h = 3) : fc(2, h), out(h, 2) {
        register_module("fc", fc);
        register_module("out", out);
    }
    Linear fc, out;
};

fs::path scratch(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("tapegrad_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
}  // namespace

TEST_CASE("checkpoint: parameters, optimiser state and metadata round-trip") {
    autograd::manual_seed(1);
    Tiny a;
    Adam opt(a.parameters());
    autograd::sum(a.out(a.fc(Tensor(ones({4, 2}))))).backward();
    opt.step();
    const fs::path path = scratch("roundtrip.npz");
    save_checkpoint(path, a, &opt, R"({"step": 1, "note": "hello"})");

    autograd::manual_seed(2);
    Tiny b;
    Adam opt_b(b.parameters());
    const std::string meta = load_checkpoint(path, b, &opt_b);
    CHECK(meta == R"({"step": 1, "note": "hello"})");
    for (std::size_t i = 0; i < 4; ++i) CHECK_ARRAY_EQ(b.parameters()[i].value(), a.parameters()[i].value());
    CHECK(opt_b.steps() == 1);
    CHECK(read_checkpoint_meta(path) == meta);
    // No temporary file is left beside it.
    for (auto& e : fs::directory_iterator(path.parent_path())) CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("checkpoint: numpy.load opens it, with PyTorch's names and layouts") {
    autograd::manual_seed(3);
    Tiny a;
    const fs::path path = scratch("numpy.npz");
    save_checkpoint(path, a, nullptr, R"({"vocab": 7})");
    const fs::path expect = scratch("expect.npy");
    xt::dump_npy(expect.string(), a.fc.weight.value());
    const std::string script =
        "import json, sys, numpy as np\n"
        "f = np.load(sys.argv[1])\n"
        "assert sorted(f.files) == ['meta', 'model/fc.bias', 'model/fc.weight', 'model/out.bias', 'model/out.weight'], f.files\n"
        "w = f['model/fc.weight']\n"
        "assert w.dtype == np.float32 and w.shape == (3, 2), (w.dtype, w.shape)\n"
        "assert (w == np.load(sys.argv[2])).all()\n"
        "assert json.loads(f['meta'].tobytes()) == {'vocab': 7}\n";
    const fs::path py = scratch("check.py");
    spit(py, script);
    const std::string cmd = "/usr/bin/python3 " + py.string() + " " + path.string() + " " + expect.string();
    CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("checkpoint: a truncated or corrupted file is refused with a clear message") {
    Tiny a;
    const fs::path path = scratch("damaged.npz");
    save_checkpoint(path, a);
    const std::string good = slurp(path);

    spit(path, good.substr(0, good.size() / 2));
    CHECK_THROWS_WITH_AS(load_checkpoint(path, a), doctest::Contains("truncated or corrupt"), Error);

    std::string flipped = good;
    flipped[200] ^= 0x5a;  // inside the first entry's data
    spit(path, flipped);
    CHECK_THROWS_WITH_AS(load_checkpoint(path, a), doctest::Contains("fails its CRC check"), Error);

    spit(path, "not a checkpoint at all, just some words");
    CHECK_THROWS_WITH_AS(load_checkpoint(path, a), doctest::Contains("not a zip/.npz archive"), Error);

    spit(path, "");
    CHECK_THROWS_WITH_AS(load_checkpoint(path, a), doctest::Contains("too short"), Error);

    CHECK_THROWS_WITH_AS(load_checkpoint(scratch("missing.npz"), a), doctest::Contains("cannot open"), Error);
}

TEST_CASE("checkpoint: a model that does not fit is refused, every mismatch named, nothing changed") {
    autograd::manual_seed(4);
    Tiny small(3);
    const fs::path path = scratch("misfit.npz");
    save_checkpoint(path, small);
    Tiny big(5);
    const Array before = big.fc.weight.value();
    try {
        load_checkpoint(path, big);
        FAIL("expected an error");
    } catch (const Error& e) {
        const std::string m = e.what();
        CHECK(m.find("fc.weight: file has shape [3, 2], model has [5, 2]") != std::string::npos);
        CHECK(m.find("fc.bias: file has shape [3], model has [5]") != std::string::npos);
        CHECK(m.find("out.weight: file has shape [2, 3], model has [2, 5]") != std::string::npos);
    }
    CHECK_ARRAY_EQ(big.fc.weight.value(), before);
    struct Other : Module {
        Other() { register_module("fc", fc); }
        Linear fc{2, 3};
    } other;
    CHECK_THROWS_WITH_AS(load_checkpoint(path, other), doctest::Contains("out.weight: in the file but not in the model"), Error);
}

TEST_CASE("checkpoint: saving replaces the previous file whole") {
    Tiny a;
    const fs::path path = scratch("replace.npz");
    spit(path, std::string(100000, 'x'));  // an older, larger file
    save_checkpoint(path, a);
    Tiny b;
    CHECK_NOTHROW(load_checkpoint(path, b));
    CHECK(fs::file_size(path) < 100000);
}

TEST_CASE("npy: header parsing rejects what it cannot read") {
    CHECK_THROWS_WITH_AS(parse_npy("garbage!!!!!", "x"), doctest::Contains("bad magic"), Error);
    std::string ok = npy_bytes(Array(array({1, 2, 3})));
    CHECK_ARRAY_EQ(parse_npy(ok, "x").floats, array({1, 2, 3}));
    CHECK_THROWS_WITH_AS(parse_npy(ok.substr(0, ok.size() - 2), "x"), doctest::Contains("truncated or corrupt"), Error);
}

namespace {
// An .npy version 1.0 file with a header dict of our choosing (padded as NumPy pads it).
std::string npy_with(const std::string& dict, const std::string& data) {
    std::string d = dict;
    d += std::string((64 - (10 + d.size() + 1) % 64) % 64, ' ') + '\n';
    std::string h = "\x93NUMPY";
    h += '\x01';
    h += '\x00';
    h += static_cast<char>(d.size() & 0xff);
    h += static_cast<char>(d.size() >> 8);
    return h + d + data;
}
std::string f4_header(const std::string& shape) { return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"; }
}  // namespace

TEST_CASE("npy: a shape is checked against the data before anything is allocated") {
    // Extents whose product wraps around to the bytes present (2^64 - 1 squared is 1 modulo 2^64).
    CHECK_THROWS_WITH_AS(parse_npy(npy_with(f4_header("(18446744073709551615, 18446744073709551615)"), "abcd"), "x"),
                         "x: shape [18446744073709551615, 18446744073709551615] is too large (corrupt header)", Error);
    // 2^62 floats would be 2^64 bytes, which wraps to 0: the bytes present.
    CHECK_THROWS_WITH_AS(parse_npy(npy_with(f4_header("(4611686018427387904,)"), ""), "x"),
                         "x: shape [4611686018427387904] is too large (corrupt header)", Error);
    CHECK_THROWS_WITH_AS(parse_npy(npy_with(f4_header("(1000000000, 1000000000)"), "abcd"), "x"),
                         "x: holds 4 data bytes, shape [1000000000, 1000000000] needs 4000000000000000000 (truncated or corrupt)",
                         Error);
    CHECK_THROWS_WITH_AS(parse_npy(npy_with(f4_header("(99999999999999999999,)"), ""), "x"),
                         "x: malformed shape (99999999999999999999,) in .npy header", Error);
    CHECK_THROWS_WITH_AS(parse_npy(npy_with(f4_header("(-1,)"), "abcd"), "x"), "x: malformed shape (-1,) in .npy header", Error);
    CHECK_THROWS_WITH_AS(parse_npy(npy_with(f4_header("(1, x)"), "abcd"), "x"), "x: malformed shape (1, x) in .npy header", Error);
    CHECK_THROWS_WITH_AS(parse_npy(npy_with(f4_header("4"), "abcd"), "x"), "x: malformed shape 4 in .npy header", Error);
    // What NumPy writes still reads: one-element tuples, scalars, empty arrays.
    CHECK_ARRAY_EQ(parse_npy(npy_with(f4_header("(1,)"), std::string("\0\0\x80\x3f", 4)), "x").floats, array({1}));
    CHECK(parse_npy(npy_with(f4_header("()"), std::string("\0\0\x80\x3f", 4)), "x").floats() == 1.0f);
    CHECK(parse_npy(npy_with(f4_header("(0, 3)"), ""), "x").floats.shape() == std::vector<std::size_t>{0, 3});
    CHECK_ARRAY_EQ(parse_npy(npy_with("{'descr': '<f4', 'fortran_order': False , 'shape': (2, 1) }", std::string(8, '\0')), "x").floats,
                   array({0, 0}, {2, 1}));
}

namespace {
// The bytes of an .npz whose central directory lists the only entry of `one_entry_npz` twice, once
// under the name `second` (same length): both point at the same local header and data.
std::string npz_with_aliased_entry(const std::string& one_entry_npz, const std::string& second) {
    auto u32 = [&](std::size_t at) {
        std::uint32_t v = 0;
        for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(one_entry_npz[at + static_cast<std::size_t>(i)]);
        return v;
    };
    auto set16 = [](std::string& b, std::size_t at, std::size_t v) {
        b[at] = static_cast<char>(v & 0xff);
        b[at + 1] = static_cast<char>((v >> 8) & 0xff);
    };
    auto set32 = [](std::string& b, std::size_t at, std::size_t v) {
        for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
    };
    const std::size_t eocd = one_entry_npz.size() - 22, cd_size = u32(eocd + 12), cd_offset = u32(eocd + 16);
    std::string alias = one_entry_npz.substr(cd_offset, cd_size);
    REQUIRE(alias.size() == 46 + second.size());
    alias.replace(46, second.size(), second);
    std::string out = one_entry_npz.substr(0, eocd) + alias + one_entry_npz.substr(eocd);
    const std::size_t end = out.size() - 22;
    set16(out, end + 8, 2);
    set16(out, end + 10, 2);
    set32(out, end + 12, 2 * cd_size);
    return out;
}
}  // namespace

TEST_CASE("npz: duplicate and overlapping entries are refused, so an archive never expands beyond its size") {
    const fs::path path = scratch("entries.npz");
    const std::string npy = npy_bytes(Array(array({1, 2, 3})));
    write_npz(path, {{"a", npy}, {"a", npy}});
    CHECK_THROWS_WITH_AS(read_npz(path), (path.string() + ": entry 'a.npy' appears twice: corrupt").c_str(), Error);

    write_npz(path, {{"a", npy}});
    spit(path, npz_with_aliased_entry(slurp(path), "b.npy"));
    CHECK_THROWS_WITH_AS(read_npz(path), (path.string() + ": entries overlap in the archive: corrupt").c_str(), Error);

    fs::create_directories(scratch("npz_folder"));
    const std::string folder = scratch("npz_folder").string();
    CHECK_THROWS_WITH_AS(read_npz(folder), ("cannot read " + folder + ": Is a directory").c_str(), Error);
    CHECK_THROWS_WITH_AS(read_checkpoint_meta(folder), doctest::Contains("Is a directory"), Error);
}

TEST_CASE("checkpoint: entries of the wrong kind and an impossible optimiser step are refused") {
    autograd::manual_seed(5);
    Tiny a;
    Adam opt(a.parameters());
    const fs::path path = scratch("kinds.npz");
    save_checkpoint(path, a, &opt, R"({"k": 1})");
    const auto good = read_npz(path);
    // Writes the good checkpoint with entry `name` replaced by `npy`.
    auto with = [&](const std::string& name, const std::string& npy) {
        auto entries = good;
        bool found = false;
        for (auto& [n, bytes] : entries)
            if (n == name) {
                bytes = npy;
                found = true;
            }
        REQUIRE(found);
        write_npz(path, entries);
    };
    Tiny b;
    Adam opt_b(b.parameters());
    with("meta", npy_bytes(Array(array({1, 2}))));
    CHECK_THROWS_WITH_AS(read_checkpoint_meta(path), (path.string() + ": entry 'meta' is not uint8 text").c_str(), Error);
    CHECK_THROWS_WITH_AS(load_checkpoint(path, b, &opt_b), (path.string() + ": entry 'meta' is not uint8 text").c_str(), Error);
    with("optim/step", npy_bytes(std::string("\x01")));
    CHECK_THROWS_WITH_AS(load_checkpoint(path, b, &opt_b), (path.string() + ": entry 'optim/step' is not float32").c_str(), Error);
    for (float step : {-1.0f, 2.5f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 1e30f}) {
        with("optim/step", npy_bytes(Array(step)));
        CHECK_THROWS_WITH_AS(load_checkpoint(path, b, &opt_b), doctest::Contains("Adam: cannot load the optimiser state:\n  step: saved value"),
                             Error);
    }
    CHECK(opt_b.steps() == 0);
    with("optim/step", npy_bytes(Array(7.0f)));
    CHECK(load_checkpoint(path, b, &opt_b) == R"({"k": 1})");
    CHECK(opt_b.steps() == 7);
}
