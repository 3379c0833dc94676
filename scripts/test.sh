#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), then, in CI (CI=true) or with
# IMAGE_SMOKE=1, builds and smoke-tests the container image (scripts/image-smoke.sh, podman), then the
# unit and end-to-end tests against real nginx on loopback. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${CI:-}" = true ] || [ "${IMAGE_SMOKE:-}" = 1 ]; then
  bash scripts/image-smoke.sh
fi
npm run lint  # Biome (linter and formatter, biome.json) and scripts/lint-names.mjs, as npm test runs them
npx mocha "$@"
