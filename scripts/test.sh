#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), then unit and end-to-end tests
# against real nginx on loopback. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx mocha "$@"
