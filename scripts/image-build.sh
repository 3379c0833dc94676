#!/usr/bin/env bash
# Builds the container image with podman, without a Docker daemon and without any registry but
# Debian's mirror and the npm registry:
#   1. installs podman, runc and mmdebstrap when missing (Debian/Ubuntu, as root);
#   2. writes a private podman configuration (runc runtime, ulimits the machine allows, own storage);
#   3. makes a Debian bookworm root filesystem with mmdebstrap (cached as a tarball) and imports it
#      under the name `FROM debian:bookworm-slim` resolves to, so the Dockerfile builds unchanged;
#   4. podman build --pull=never.
#
# Usage: bash scripts/image-build.sh [TAG]         (default TAG: localhost/ingress-templater:latest)
#
# Environment:
#   IMAGE_WORK_DIR         cache and podman storage       [/var/tmp/ingress-templater-image]
#   IMAGE_STORAGE_DRIVER   overlay or vfs                 [overlay if it works here, else vfs]
#   IMAGE_BUILD_NETWORK    network for RUN steps          [host]
#   IMAGE_BUILD_CA_FILE    PEM bundle handed to `npm ci` as the build secret npm-ca, for a
#                          TLS-intercepting proxy         [$NODE_EXTRA_CA_CERTS or npm's cafile, if set]
#   IMAGE_REFRESH_BASE=1   rebuild the base tarball (it is otherwise kept for 7 days)
#   IMAGE_BUILD_ARGS       extra arguments for podman build (word-split)
#
# Afterwards `source "$IMAGE_WORK_DIR/podman.env"` points podman at the same configuration and storage
# (e.g. `podman images`, `podman run`, `podman save`).
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="${1:-localhost/ingress-templater:latest}"
WORK="${IMAGE_WORK_DIR:-/var/tmp/ingress-templater-image}"
NETWORK="${IMAGE_BUILD_NETWORK:-host}"
BASE_NAME="docker.io/library/debian:bookworm-slim"
MIRROR="${IMAGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${IMAGE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
TARBALL="$WORK/debian-bookworm-base.tar"

say() { echo "image-build: $*" >&2; }
die() { echo "image-build: error: $*" >&2; exit 1; }
t0=$SECONDS

[ "$(id -u)" = 0 ] || die "run as root (podman with its own storage, mmdebstrap and apt need it)"
mkdir -p "$WORK"
# one build at a time per work directory
exec 9>"$WORK/lock"
flock 9

# 1. tools
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" uidmap fuse-overlayfs >/dev/null
fi

# 2. private podman configuration: runc, ulimits within what this machine allows, own storage
write_conf() { # driver
  local nofile
  nofile="$(ulimit -Hn)"
  [ "$nofile" = unlimited ] && nofile=1048576
  cat >"$WORK/containers.conf" <<EOF
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
EOF
  cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "$1"
graphroot = "$WORK/storage-$1"
runroot = "/run/ingress-templater-image-$1"
EOF
  cat >"$WORK/podman.env" <<EOF
export CONTAINERS_CONF="$WORK/containers.conf"
export CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
EOF
  export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
}

# 3. the base image: a bookworm root filesystem trimmed like the -slim images (no man pages, docs or
# translations; apt lists and caches removed), with the main, updates and security suites.
fresh_tarball() {
  [ -s "$TARBALL" ] || return 1
  [ "${IMAGE_REFRESH_BASE:-0}" = 1 ] && return 1
  [ -z "$(find "$TARBALL" -mtime +7)" ]
}
if ! fresh_tarball; then
  say "building the Debian bookworm base with mmdebstrap (from $MIRROR)"
  rm -f "$TARBALL.tmp"
  # shellcheck disable=SC2016 # the hook's $1 is expanded by mmdebstrap's shell
  mmdebstrap --variant=apt --mode=root --format=tar \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/groff/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/apt/* "$1"/var/log/dpkg.log' \
    bookworm "$TARBALL.tmp" \
    "deb $MIRROR bookworm main" \
    "deb $MIRROR bookworm-updates main" \
    "deb $SECURITY_MIRROR bookworm-security main" \
    >"$WORK/mmdebstrap.log" 2>&1 || { tail -20 "$WORK/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $WORK/mmdebstrap.log)"; }
  mv "$TARBALL.tmp" "$TARBALL"
  rm -f "$WORK"/imported-*
fi

import_base() { # driver; imports when this storage does not have the current tarball yet
  local stamp="$WORK/imported-$1"
  if podman image exists "$BASE_NAME" 2>/dev/null && [ -f "$stamp" ] && [ "$stamp" -nt "$TARBALL" ]; then return 0; fi
  say "importing the base as $BASE_NAME ($1 storage)"
  podman import -q --change 'CMD ["bash"]' "$TARBALL" "$BASE_NAME" >/dev/null || return 1
  touch "$stamp"
}

driver="${IMAGE_STORAGE_DRIVER:-}"
if [ -z "$driver" ]; then
  # overlay where the kernel and the file system allow it (much faster), vfs otherwise
  driver=overlay
  [ -f "$WORK/driver" ] && driver="$(cat "$WORK/driver")"
  write_conf "$driver"
  if ! { import_base "$driver" && podman run --rm --network=none "$BASE_NAME" true >/dev/null 2>&1; }; then
    [ "$driver" = vfs ] && die "podman cannot run a container with the vfs driver either (see podman info)"
    say "the overlay storage driver does not work here; using vfs"
    driver=vfs
  fi
  echo "$driver" >"$WORK/driver"
fi
write_conf "$driver"
import_base "$driver"

# 4. build
CACHE_TAG="localhost/ingress-templater-build:cache"
build_args=(--pull=never --network="$NETWORK" --format=docker
  --build-arg "VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -1)"
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
if rev="$(git rev-parse HEAD 2>/dev/null)"; then
  [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && rev="$rev-dirty"
  build_args+=(--build-arg "REVISION=$rev")
fi
ca="${IMAGE_BUILD_CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}"
if [ -z "$ca" ] && command -v npm >/dev/null; then
  ca="$(npm config get cafile 2>/dev/null || true)"
  [ "$ca" = null ] || [ "$ca" = undefined ] && ca=""
fi
# the host's own trust store knows whatever proxy the host itself trusts
[ -n "$ca" ] || ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
if [ -n "$ca" ] && [ -r "$ca" ]; then build_args+=(--secret "id=npm-ca,src=$ca"); fi
extra=()
# shellcheck disable=SC2206
[ -n "${IMAGE_BUILD_ARGS:-}" ] && extra=(${IMAGE_BUILD_ARGS})

say "podman build $TAG (storage $driver)"
# Then the build stage is tagged as well (a cache hit, under a second): it is the layer cache for the
# next build, and with a name it survives the prune below, which drops the untagged leftovers of
# earlier builds.
: >"$WORK/build.log"
for target in final build; do
  if [ "$target" = final ]; then
    args=(-t "$TAG" "${extra[@]}")
  else
    args=(--target build -t "$CACHE_TAG")
    for a in "${extra[@]}"; do [ "$a" = --no-cache ] || args+=("$a"); done
  fi
  podman build "${build_args[@]}" "${args[@]}" . >>"$WORK/build.log" 2>&1 \
    || { tail -40 "$WORK/build.log" >&2; die "podman build failed (log: $WORK/build.log)"; }
done
podman image prune -f >/dev/null 2>&1 || true
size="$(podman image inspect --format '{{.Size}}' "$TAG")"
say "built $TAG: $((size / 1000000)) MB, $((SECONDS - t0)) s; use it with: source $WORK/podman.env"
