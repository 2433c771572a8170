#include "tests/support/fixtures.hpp"

#include <filesystem>

#include <xtensor/xnpy.hpp>

namespace tapegrad::testing {

namespace {
std::string path_of(const std::string& group, const std::string& name) {
    const std::string p = std::string(TAPEGRAD_FIXTURES) + "/" + group + "/" + name + ".npy";
    if (!std::filesystem::exists(p)) throw Error("missing fixture " + p + " (regenerate with tests/fixtures/make_fixtures.py)");
    return p;
}
}  // namespace

Array fixture(const std::string& group, const std::string& name) { return xt::load_npy<float>(path_of(group, name)); }

Indices fixture_ids(const std::string& group, const std::string& name) {
    return xt::load_npy<std::int64_t>(path_of(group, name));
}

}  // namespace tapegrad::testing
