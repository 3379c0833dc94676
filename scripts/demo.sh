#!/usr/bin/env bash
# The walkthrough on one machine: installs and builds (scripts/setup.sh), starts demo pods on loopback
# (examples/backends.mjs), starts the controller on examples/manifests with nginx on 127.0.0.1:8080/8443,
# shows the curl session, then keeps running until Ctrl-C. Edit files in examples/manifests meanwhile
# and watch nginx follow. DEMO_NO_WAIT=1 stops after the curl session.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

HTTP=${HTTP_PORT:-8080} HTTPS=${HTTPS_PORT:-8443} STATUS=${STATUS_PORT:-10254}
PREFIX="$PWD/.demo/nginx"
mkdir -p .demo
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

node examples/backends.mjs > .demo/pods.log 2>&1 & pids+=($!)
node dist/src/cli.js run --manifests examples/manifests --configmap ingress-templater/ingress-templater \
  --http-port "$HTTP" --https-port "$HTTPS" --listen-address 127.0.0.1 --status-port "$STATUS" \
  --nginx-prefix "$PREFIX" > .demo/controller.log 2>&1 & pids+=($!)

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$STATUS/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$STATUS/healthz" >/dev/null || { echo "controller did not become ready:"; cat .demo/controller.log; exit 1; }

show() { echo "\$ $*"; "$@"; echo; }
CAFE=(--resolve "cafe.example.com:$HTTP:127.0.0.1" --resolve "cafe.example.com:$HTTPS:127.0.0.1")
# the demo certificate is self-signed: trust exactly it, taken from the Secret
sed -n 's/^  tls.crt: //p' examples/manifests/cafe-secret.yaml | base64 -d > .demo/cafe.crt

echo "== Service hostnames, 3 endpoints, round robin (host-less Ingress rule)"
for _ in 1 2 3; do show curl -s "http://127.0.0.1:$HTTP/"; done
echo "== Ingress cafe-ingress: /tea and /coffee over TLS with the certificate from Secret cafe-secret"
show curl -s --cacert .demo/cafe.crt "${CAFE[@]}" "https://cafe.example.com:$HTTPS/coffee"
show curl -s --cacert .demo/cafe.crt "${CAFE[@]}" "https://cafe.example.com:$HTTPS/tea"
echo "== plain HTTP to a TLS host redirects (308)"
show curl -s -o /dev/null -w '%{http_code} -> %{redirect_url}\n' "${CAFE[@]}" "http://cafe.example.com:$HTTP/tea"
echo "== no rule matches: 404"
show curl -s -o /dev/null -w '%{http_code}\n' --cacert .demo/cafe.crt "${CAFE[@]}" "https://cafe.example.com:$HTTPS/unknown"
echo "== the certificate nginx presented"
echo | openssl s_client -connect "127.0.0.1:$HTTPS" -servername cafe.example.com 2>/dev/null | openssl x509 -noout -subject -ext subjectAltName
echo
echo "status: http://127.0.0.1:$STATUS/healthz /metrics /status   config: $PREFIX/nginx.conf   log: .demo/controller.log"
[ "${DEMO_NO_WAIT:-}" = 1 ] && exit 0
echo "running; edit examples/manifests/*.yaml and curl again; Ctrl-C stops"
wait "${pids[1]}"
