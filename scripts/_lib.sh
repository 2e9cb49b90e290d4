# Shared setup for scripts/*.sh (sourced, not run). Works on a fresh Debian machine with
# Python >= 3.10, node + npm and root; installs nothing outside the repository except the
# Debian packages listed in APT_PACKAGES.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

# Debian packages the tests need, as "command:package" pairs: the package is installed only
# when the command is missing.
# >>> Debian packages >>>
# message-queue brokers (tests start their own instances on ephemeral ports) and the
# headless browser of the end-to-end tests
APT_PACKAGES=(
    "redis-server:redis-server"
    "/usr/lib/rabbitmq/bin/rabbitmq-server:rabbitmq-server"
    "chromium:chromium"
    "openssl:openssl"
)
# <<< Debian packages <<<

if [ -t 1 ]; then
    log() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
    log() { printf '\n==> %s\n' "$*"; }
fi

ensure_apt_packages() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "need root to install: ${missing[*]}" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Create .venv if needed and install the package (editable) with the given extras. The
# install is skipped when pyproject.toml has not changed since the last one for these extras.
ensure_venv() {
    local extras="$1" stamp hash
    if ! "$VENV/bin/python" -c "" >/dev/null 2>&1; then
        # missing, or left behind by a Python that is gone: (re)create it
        log "creating $VENV"
        "$PYTHON" -m venv --clear "$VENV" || {
            ensure_apt_packages "false:python3-venv" && "$PYTHON" -m venv --clear "$VENV"
        }
    fi
    stamp="$VENV/.sio-installed-${extras//,/-}"
    hash="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
        return 0
    fi
    log "pip install -e .[$extras]"
    # (the filter drops pip's per-package notes about index folders this machine lacks)
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$ROOT[$extras]" \
        2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
    echo "$hash" > "$stamp"
}

# npm install (exact pins from package.json, no lock file) in each given folder.
npm_install() {
    local dir
    command -v npm >/dev/null 2>&1 || ensure_apt_packages "npm:npm"
    for dir in "$@"; do
        log "npm install in ${dir#"$ROOT"/}"
        (cd "$dir" && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
    done
}
