#!/usr/bin/env bash
# Smoke test of the container image, with podman and no Docker daemon:
#   builds localhost/ingress-templater:test (scripts/image-build.sh: podman, a cached Debian base made
#   with mmdebstrap, podman build --pull=never), then runs it on the host network on free loopback ports
#   the way deploy/base/deployment.yaml runs it (read-only root file system, root-owned 0777 directories
#   where the emptyDirs go, all capabilities dropped, no new privileges), with a manifests directory
#   mounted read-only that routes to two small HTTP backends this script starts on 127.0.0.1, and
#   checks: /healthz, requests through nginx (HTTP, HTTPS with SNI, 308, 503), an endpoint change
#   picked up from the mounted directory without a reload, the image's HEALTHCHECK, that every process
#   runs as the unprivileged user, and that SIGTERM drains and exits 0 in time.
#
# Usage: bash scripts/image-smoke.sh        (as root; IMAGE_* variables: see scripts/image-build.sh)
#   IMAGE_SMOKE_SKIP_BUILD=1   test the image already built with that tag
#   IMAGE_SMOKE_STOP_BOUND=15  seconds SIGTERM may take until the container has exited
# shellcheck disable=SC2153 # BACKEND_A and the other ports are assigned through printf -v
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="localhost/ingress-templater:test"
WORK="${IMAGE_WORK_DIR:-/var/tmp/ingress-templater-image}"
STOP_BOUND="${IMAGE_SMOKE_STOP_BOUND:-15}"
NAME="ingress-templater-smoke-$$"
passed=0
failed=0
t0=$SECONDS

pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }
summary() { echo "image-smoke: $passed passed, $failed failed"; }
abort() { # a failure after which the rest cannot run
  fail "$*"
  show_logs
  summary
  exit 1
}

TMP="$(mktemp -d /tmp/ingress-templater-smoke.XXXXXX)"
pids=()
container_started=0
show_logs() {
  [ "$container_started" = 1 ] || return 0
  echo "--- last container log lines ---" >&2
  podman logs "$NAME" 2>&1 | tail -40 >&2 || true
  echo "---" >&2
}
cleanup() {
  local rc=$?
  if [ "$container_started" = 1 ]; then podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "image-smoke: run as root" >&2; exit 1; }
if ! command -v curl >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl >/dev/null; }
fi

# ---------------------------------------------------------------------------------------------- build
if [ "${IMAGE_SMOKE_SKIP_BUILD:-0}" != 1 ]; then
  tb=$SECONDS
  if bash scripts/image-build.sh "$TAG"; then pass "image builds ($((SECONDS - tb)) s)"; else abort "image build failed"; fi
fi
[ -f "$WORK/podman.env" ] || abort "no podman configuration in $WORK (run without IMAGE_SMOKE_SKIP_BUILD)"
# shellcheck disable=SC1091
source "$WORK/podman.env"
podman image exists "$TAG" || abort "image $TAG not found"

# ------------------------------------------------------------------------------------ image contents
user="$(podman image inspect --format '{{.Config.User}}' "$TAG")"
if [ "$user" = "101:101" ]; then pass "image user is $user"; else fail "image user is '$user', want 101:101"; fi

in_image() { podman run --rm --network=none --no-healthcheck --entrypoint "$1" "$TAG" "${@:2}"; }
node_version="$(in_image node --version 2>&1 || true)"
if [[ "$node_version" =~ ^v(18\.(19|2[0-9])|2[0-9])\. ]]; then pass "node $node_version in the image (>= 18.19)"; else fail "node in the image is '$node_version', want >= 18.19"; fi
want_version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -1)"
got_version="$(podman run --rm --network=none --no-healthcheck "$TAG" --version 2>&1 || true)"
if [ "$got_version" = "$want_version" ]; then pass "entrypoint --version prints $got_version"; else fail "entrypoint --version printed '$got_version', want '$want_version'"; fi
# shellcheck disable=SC2016 # expanded in the container
leftovers="$(in_image sh -c 'for c in npm npx gcc cc make g++; do command -v $c; done; true')"
if [ -z "$leftovers" ]; then pass "no npm and no compilers in the runtime image"; else fail "runtime image has: $leftovers"; fi

# ------------------------------------------------------------------------------------ ports, backends
used_ports=" "
free_port() { # VAR: a loopback port nothing listens on (and not handed out before in this run)
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    [[ "$used_ports" == *" $p "* ]] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    if command -v ss >/dev/null && [ -n "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then continue; fi
    used_ports+="$p "
    printf -v "$1" '%s' "$p"
    return
  done
  abort "no free loopback port found"
}
free_port BACKEND_A; free_port BACKEND_B; free_port HTTP; free_port HTTPS; free_port STATUS; free_port INTERNAL
TOKEN_A="backend-a-$RANDOM$RANDOM"
TOKEN_B="backend-b-$RANDOM$RANDOM"

# The backend answers every GET with its token; /slow after 2 s (a request in flight during SIGTERM).
BACKEND_PY='
import http.server, sys, time
port, token = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(2)
        body = (token + "\n").encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'
BACKEND_JS='
const [port, token] = [Number(process.argv[1]), process.argv[2]];
require("http").createServer((q, s) => setTimeout(() => s.end(token + "\n"), q.url.startsWith("/slow") ? 2000 : 0))
  .listen(port, "127.0.0.1");
'
start_backend() { # port token
  local port="$1" token="$2"
  if command -v python3 >/dev/null; then
    python3 -c "$BACKEND_PY" "$port" "$token" >"$TMP/backend-$port.log" 2>&1 &
  elif command -v node >/dev/null; then
    node -e "$BACKEND_JS" "$port" "$token" >"$TMP/backend-$port.log" 2>&1 &
  else
    abort "neither python3 nor node is here to play the backend"
  fi
  pids+=($!)
  # up to 20 s: a loaded machine (CI beside other work) has taken more than 5 s to start python3
  for _ in $(seq 200); do
    curl -fsS --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null | grep -q "$token" && return 0
    sleep 0.1
  done
  abort "backend on 127.0.0.1:$port did not start within 20 s: $(cat "$TMP/backend-$port.log" 2>/dev/null)"
}
start_backend "$BACKEND_A" "$TOKEN_A"
start_backend "$BACKEND_B" "$TOKEN_B"

# ----------------------------------------------------------------------------------------- manifests
# world-readable, as a ConfigMap volume is: the controller runs as uid 101
MANIFESTS="$TMP/manifests"
mkdir -p "$MANIFESTS"
chmod 0755 "$TMP" "$MANIFESTS"
endpoints() { # port: the Endpoints of Service smoke, written atomically (write + rename)
  cat >"$MANIFESTS/.endpoints.tmp" <<EOF
apiVersion: v1
kind: Endpoints
metadata:
  name: smoke
  namespace: default
subsets:
  - addresses:
      - ip: 127.0.0.1
    ports:
      - name: http
        port: $1
        protocol: TCP
EOF
  chmod 0644 "$MANIFESTS/.endpoints.tmp"
  mv "$MANIFESTS/.endpoints.tmp" "$MANIFESTS/endpoints.yaml"
}
cat >"$MANIFESTS/smoke.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: smoke
  namespace: default
spec:
  ports:
    - name: http
      port: 80
      targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: empty
  namespace: default
spec:
  ports:
    - name: http
      port: 80
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
spec:
  controller: ingress-templater.dev/controller
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: smoke
  namespace: default
  creationTimestamp: "2024-01-01T00:00:00Z"
spec:
  ingressClassName: nginx
  tls:
    - hosts: [secure.smoke.test]
      secretName: smoke-tls-not-there
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: smoke, port: {name: http}}}
          - path: /empty
            pathType: Prefix
            backend: {service: {name: empty, port: {number: 80}}}
    - host: secure.smoke.test
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: smoke, port: {number: 80}}}
EOF
chmod 0644 "$MANIFESTS/smoke.yaml"
endpoints "$BACKEND_A"

# --------------------------------------------------------------------------------------------- run
# As deploy/base/deployment.yaml: read-only root; where the emptyDirs go, root-owned 0777 directories as
# kubelet makes them (the nginx prefix is a directory below the state one); no capabilities, no new
# privileges.
mkdir -p "$TMP/state" "$TMP/tmp"
chmod 0777 "$TMP/state" "$TMP/tmp"
podman run -d --name "$NAME" --network=host \
  --read-only --read-only-tmpfs=false \
  -v "$TMP/state:/var/run/ingress-templater" \
  -v "$TMP/tmp:/tmp" \
  --cap-drop=ALL --security-opt=no-new-privileges \
  --health-interval=disable \
  -v "$MANIFESTS:/etc/ingress-templater/manifests:ro" \
  -e INGRESS_TEMPLATER_LISTEN_ADDRESS=127.0.0.1 \
  -e INGRESS_TEMPLATER_STATUS_ADDRESS=127.0.0.1 \
  -e INGRESS_TEMPLATER_HTTP_PORT="$HTTP" \
  -e INGRESS_TEMPLATER_HTTPS_PORT="$HTTPS" \
  -e INGRESS_TEMPLATER_STATUS_PORT="$STATUS" \
  -e INGRESS_TEMPLATER_INTERNAL_PORT="$INTERNAL" \
  "$TAG" >/dev/null 2>"$TMP/run.err" || { cat "$TMP/run.err" >&2; abort "podman run failed"; }
container_started=1

ready=0
tr=$SECONDS
for _ in $(seq 600); do
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$STATUS/healthz" || true)"
  if [ "$code" = 200 ]; then ready=1; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || break
  sleep 0.1
done
if [ "$ready" = 1 ]; then pass "/healthz 200 after $((SECONDS - tr)) s (read-only root, no capabilities)"; else abort "/healthz not 200 within 60 s (last: $code)"; fi

logs="$(podman logs "$NAME" 2>&1)"
if grep -q "lua balancer" <<<"$logs"; then pass "controller uses the lua balancer (ngx_lua works in the image)"; else fail "log does not say 'lua balancer'"; fi

expect_body() { # description token curl-args...
  local what="$1" token="$2" body
  shift 2
  body="$(curl -sS --max-time 5 "$@" 2>&1 || true)"
  if grep -q "$token" <<<"$body"; then pass "$what"; else fail "$what: got '$(head -c 200 <<<"$body")'"; fi
}
expect_code() { # description code curl-args...
  local what="$1" want="$2" got
  shift 2
  got="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true)"
  if [ "$got" = "$want" ]; then pass "$what"; else fail "$what: got $got, want $want"; fi
}

expect_body "HTTP through nginx reaches the backend" "$TOKEN_A" "http://127.0.0.1:$HTTP/"
expect_body "HTTPS (SNI, default certificate) reaches the backend" "$TOKEN_A" \
  -k --resolve "secure.smoke.test:$HTTPS:127.0.0.1" "https://secure.smoke.test:$HTTPS/"
expect_code "plain HTTP to the TLS host answers 308" 308 -H "Host: secure.smoke.test" "http://127.0.0.1:$HTTP/"
expect_code "a Service without endpoints answers 503" 503 "http://127.0.0.1:$HTTP/empty"

reloads() { curl -s --max-time 5 "http://127.0.0.1:$STATUS/metrics" | awk '$1 == "ingress_templater_reloads_total" { print $2 }'; }
reloads_before="$(reloads)"
endpoints "$BACKEND_B"
switched=0
for _ in $(seq 100); do
  if curl -s --max-time 2 "http://127.0.0.1:$HTTP/" | grep -q "$TOKEN_B"; then switched=1; break; fi
  sleep 0.1
done
if [ "$switched" = 1 ]; then pass "an Endpoints change in the mounted directory reaches nginx"; else fail "the Endpoints change did not reach nginx within 10 s"; fi
reloads_after="$(reloads)"
if [ -n "$reloads_before" ] && [ "$reloads_before" = "$reloads_after" ]; then
  pass "the endpoint change needed no reload (reloads_total $reloads_after)"
else
  fail "reloads_total went from '$reloads_before' to '$reloads_after' on an endpoint change"
fi

if podman healthcheck run "$NAME" >/dev/null 2>&1; then pass "the image's HEALTHCHECK passes"; else fail "podman healthcheck run failed"; fi

# every process of the container, nginx master and workers included, runs as the unprivileged user
top="$(podman top "$NAME" user pid args 2>&1 || true)"
procs="$(tail -n +2 <<<"$top")"
if grep -q "nginx: master process" <<<"$procs" && grep -q "nginx: worker process" <<<"$procs" \
  && awk '$1 != "ingress" { bad = 1 } END { exit bad }' <<<"$procs"; then
  pass "all $(wc -l <<<"$procs") processes (tini, node, nginx master and workers) run as user ingress"
else
  fail "processes not all user ingress, or nginx missing:"$'\n'"$top"
fi
uid="$(podman exec "$NAME" id -u 2>&1 || true)"
if [ "$uid" = 101 ]; then pass "uid in the container is 101"; else fail "id -u in the container: '$uid'"; fi

# ------------------------------------------------------------------------------------------ SIGTERM
# A request in flight must be answered; idle keep-alive connections to nginx and to the status server
# must not hold the stop up.
curl -s --max-time 20 "http://127.0.0.1:$HTTP/slow" >"$TMP/slow.out" 2>&1 &
slow_pid=$!
pids+=("$slow_pid")
if exec 6<>"/dev/tcp/127.0.0.1/$HTTP"; then printf 'GET / HTTP/1.1\r\nHost: idle.smoke.test\r\n\r\n' >&6 || true; fi
if exec 7<>"/dev/tcp/127.0.0.1/$STATUS"; then printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&7 || true; fi
sleep 0.5 # the slow request is now with the backend
ts=$(date +%s.%N)
podman stop -t 30 "$NAME" >/dev/null 2>&1 || true
elapsed="$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
exec 6>&- 7>&- || true
exit_code="$(podman inspect --format '{{.State.ExitCode}}' "$NAME")"
if [ "$exit_code" = 0 ]; then pass "SIGTERM: exit code 0"; else fail "SIGTERM: exit code $exit_code, want 0"; fi
if awk -v e="$elapsed" -v b="$STOP_BOUND" 'BEGIN { exit !(e < b) }'; then pass "SIGTERM: stopped in $elapsed s (bound $STOP_BOUND s)"; else fail "SIGTERM: took $elapsed s, bound $STOP_BOUND s"; fi
wait "$slow_pid" 2>/dev/null || true
keep=()
for p in "${pids[@]}"; do [ "$p" = "$slow_pid" ] || keep+=("$p"); done
pids=("${keep[@]}") # reaped: never signal that pid again
if grep -q "$TOKEN_B" "$TMP/slow.out"; then pass "SIGTERM: the request in flight was answered"; else fail "SIGTERM: the request in flight got '$(head -c 200 "$TMP/slow.out")'"; fi
if podman logs "$NAME" 2>&1 | grep -q "SIGTERM: stopping nginx gracefully"; then pass "SIGTERM reached the controller (graceful nginx stop logged)"; else fail "no 'SIGTERM: stopping nginx gracefully' in the log"; fi
if [ "$failed" -gt 0 ]; then show_logs; fi
podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
container_started=0

echo "image smoke: took $((SECONDS - t0)) s"
summary
[ "$failed" = 0 ]
