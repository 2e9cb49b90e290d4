#!/usr/bin/env bash
# Install everything and run the whole check suite, stopping at the first failing step:
# ruff, mypy (strict, package), import-linter (layer rule), unasync check, pytest.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -x -k chat
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
cd "$ROOT"

ensure_apt_packages ${APT_PACKAGES[@]+"${APT_PACKAGES[@]}"}
ensure_venv all,test

# every folder with JS the tests use: example apps and tests/**/js/ peers
mapfile -t npm_dirs < <(
    find example_projects tests -name package.json -not -path '*/node_modules/*' \
        -exec dirname {} \; | sort
)
npm_install "${npm_dirs[@]/#/$ROOT/}"

export PATH="$VENV/bin:$PATH"

step() {
    local start=$SECONDS
    log "$*"
    "$@"
    echo "($* took $((SECONDS - start)) s)"
}

step ruff check .
step mypy
step lint-imports --no-logo
step python tools/unasync.py --check

log "pytest $*"
status=0
python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    status=0
fi
exit "$status"
