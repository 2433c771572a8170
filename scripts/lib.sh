# Shared by scripts/test, scripts/demo and bench/run: installs missing Debian
# packages and configures the build. Sourced, not run.

# Packages needed to build and test.
TAPEGRAD_BUILD_PACKAGES=(g++ meson ninja-build pkg-config ccache python3
    libxtensor-dev libxsimd-dev libxtensor-blas-dev libopenblas-dev doctest-dev zlib1g-dev
    libcli11-dev nlohmann-json3-dev libstb-dev libbenchmark-dev python3-numpy
    dataset-fashion-mnist openmpi-bin libopenmpi-dev)

# Installs whichever of the given packages are missing (apt-get, through sudo when
# not root). Runs `apt-get update` once, and only when something is missing, so
# repeated runs stay fast and work offline.
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing missing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" || return 1
}

# Configures build/ (release: -O3 -march=native) unless it is configured already.
# configure_build DIR [meson setup options]: another folder and other options
# (e.g. the sanitizer build of scripts/test --sanitize) instead of the release build.
configure_build() {
    local dir=${1:-build}
    shift || true
    [ $# -eq 0 ] && set -- --buildtype=release
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >/dev/null || return 1
    fi
}

# Sanitizer settings for the sanitizer and fuzzing builds: stop at the first report,
# with a stack, and make it fail the program (meson test would otherwise set its own).
export_sanitizer_options() {
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
}

# OpenBLAS picks its kernels when it loads, or takes them from OPENBLAS_CORETYPE.
# An explicit setting is respected (an environment may pin the AVX2 "Haswell"
# kernels on purpose); otherwise, on an AVX-512 CPU, its AVX-512 kernels are chosen.
select_blas_kernels() {
    if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
        export OPENBLAS_CORETYPE=SkylakeX
    fi
}
