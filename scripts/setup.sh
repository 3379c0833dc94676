#!/usr/bin/env bash
# Installs what ingress-templater needs on Debian/Ubuntu and builds it:
# nginx with ngx_lua and headers-more (Debian's nginx + libnginx-mod-http-lua + lua-resty-core + lua-cjson +
# libnginx-mod-http-headers-more-filter, unless OpenResty, which has both built in, is installed), openssl, curl and iptables, Node.js >= 18.19 if missing, node modules (npm ci), build.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }
if [ ! -x /usr/local/openresty/nginx/sbin/nginx ]; then
  want nginx; want libnginx-mod-http-lua; want lua-resty-core; want lua-cjson
  # more_set_headers/more_clear_headers, as ingress-nginx sent response headers (src/nginx/binary.ts)
  want libnginx-mod-http-headers-more-filter
fi
want openssl; want curl; want ca-certificates
# the API source's e2e tests route fake pod addresses to loopback pods with iptables (test/helpers/pod-network.ts)
want iptables
command -v node >/dev/null || { want nodejs; want npm; }

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d keeps the package from starting the system nginx service; we run our own
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a system nginx on port 80 where it can; it is not ours and would only get in the way.
if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
  echo "setup: note: a system nginx service is running; ingress-templater runs its own nginx beside it"
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<18||(a===18&&b<19)) { console.error("setup: Node.js >= 18.19 needed, found "+process.version); process.exit(1) }'
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
# the tests' control plane (etcd, kube-apiserver) from Go modules; cached by version, about 9 min when cold
if command -v go >/dev/null; then bash scripts/cluster-build.sh >/dev/null; fi
echo "setup: ready ($(nginx -v 2>&1 | tr -d '\n'), node $(node --version))"
