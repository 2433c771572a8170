// Checks of command-line numbers (checks.hpp).
#include "models/cli/checks.hpp"

#include <cmath>
#include <sstream>

namespace tapegrad::models::cli {

CLI::Validator number_check(const std::string& what, std::function<bool(double)> ok, bool whole) {
    return CLI::Validator(
        [what, ok, whole](std::string& s) -> std::string {
            std::size_t used = 0;
            double v = 0;
            try {
                v = std::stod(s, &used);
            } catch (const std::exception&) {
                return "'" + s + "' is not a number";
            }
            if (used != s.size()) return "'" + s + "' is not a number";
            if (!std::isfinite(v)) return "'" + s + "' is not a finite number";
            if (whole && (std::floor(v) != v || s.find_first_of(".eE") != std::string::npos))
                return "'" + s + "' is not a whole number";
            if (!ok(v)) return s + " is not " + what;
            return "";
        },
        what);
}
CLI::Validator at_least(double lo) {
    std::ostringstream d;
    d << ">= " << lo;
    return number_check(d.str(), [lo](double v) { return v >= lo; });
}
CLI::Validator positive() { return number_check("> 0", [](double v) { return v > 0; }); }
CLI::Validator count_at_least(long lo) {
    return number_check("a whole number >= " + std::to_string(lo), [lo](double v) { return v >= double(lo); }, true);
}
CLI::Validator probability() {
    return number_check("a probability in [0, 1)", [](double v) { return v >= 0.0 && v < 1.0; });
}

}  // namespace tapegrad::models::cli
