// Checkpoints: round trip, NumPy can read them, damaged files and misfits are
// refused with messages that name the problem, writes are atomic.
#include <cstdlib>
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
