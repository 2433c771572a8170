# Shared by scripts/test, scripts/demo and bench/run: installs missing Debian
# packages and configures the build. Sourced, not run.

# Packages needed to build and test.
TAPEGRAD_BUILD_PACKAGES=(g++ meson ninja-build pkg-config ccache python3
    libxtensor-dev libxsimd-dev libxtensor-blas-dev libopenblas-dev doctest-dev zlib1g-dev
    libcli11-dev nlohmann-json3-dev libstb-dev libbenchmark-dev python3-numpy
    dataset-fashion-mnist)

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
configure_build() {
    local dir=${1:-build}
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" --buildtype=release >/dev/null || return 1
    fi
}

# OpenBLAS picks its kernels when it loads, or takes them from OPENBLAS_CORETYPE.
# An explicit setting is respected (an environment may pin the AVX2 "Haswell"
# kernels on purpose); otherwise, on an AVX-512 CPU, its AVX-512 kernels are chosen.
select_blas_kernels() {
    if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
        export OPENBLAS_CORETYPE=SkylakeX
    fi
}
