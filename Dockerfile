# ingress-templater container image: the controller (Node.js) and the nginx it drives, in one image.
#
#   docker build -t ingress-templater .                  # or: bash scripts/image-build.sh (podman, no daemon)
#   docker run --rm -p 8080:8080 -p 8443:8443 -p 10254:10254 \
#     -v "$PWD/examples/manifests:/etc/ingress-templater/manifests:ro" ingress-templater
#
# Stage 1 compiles the TypeScript and keeps only the production node_modules; stage 2 is the runtime:
# Debian's nginx with ngx_lua (so the Lua balancer is used) and headers-more (response headers as
# ingress-nginx sent them), Debian's nodejs, openssl, and no npm or
# compilers. Everything runs as the unprivileged user `ingress` (uid/gid 101), nginx master included, so
# the default ports are 8080/8443. See docs/container.md.
#
# Build arguments:
#   BASE_IMAGE       image for the build stage                       [debian:bookworm-slim]
#   RUNTIME_IMAGE    image for the runtime stage; must be Debian bookworm based (apt, nodejs 18.19+).
#                    For OpenResty: --build-arg RUNTIME_IMAGE=openresty/openresty:bookworm
#                    --build-arg NGINX_PACKAGES= (OpenResty brings nginx with ngx_lua and headers-more built in; the
#                    controller picks /usr/local/openresty/nginx/sbin/nginx when it exists)
#   NGINX_PACKAGES   Debian packages that provide nginx + ngx_lua + headers-more in the runtime stage
#                    [nginx libnginx-mod-http-lua lua-resty-core lua-cjson libnginx-mod-http-headers-more-filter]
#   APP_UID, APP_GID uid/gid of the `ingress` user                   [101]
#   VERSION, REVISION, CREATED   values for the OCI labels (scripts/image-build.sh fills them in)

ARG BASE_IMAGE=debian:bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

############################################################################ build stage
FROM ${BASE_IMAGE} AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && node --version && npm --version

WORKDIR /src
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm_config_loglevel=warn

# Dependencies first, so a source change does not re-download them. The optional build secret `npm-ca`
# is a PEM bundle for a TLS-intercepting proxy in front of the npm registry
# (`--secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt`); it is used for `npm ci` only and
# never lands in a layer. Without it the mount is simply empty.
COPY package.json package-lock.json tsconfig.json ./
RUN --mount=type=secret,id=npm-ca,target=/run/secrets/npm-ca \
    --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
 && npm ci

# Only src/ is copied: tsconfig.json also includes test/ and bench/, whose globs then match nothing,
# so `npm run build` compiles exactly the shipped code into dist/src.
COPY src ./src
RUN npm run build \
 && test -f dist/src/cli.js \
 && npm prune --omit=dev \
 && find dist -name '*.map' -delete \
 && chmod 0755 dist/src/cli.js

############################################################################ runtime stage
FROM ${RUNTIME_IMAGE} AS runtime

ARG DEBIAN_FRONTEND=noninteractive
ARG NGINX_PACKAGES="nginx libnginx-mod-http-lua lua-resty-core lua-cjson libnginx-mod-http-headers-more-filter"
ARG APP_UID=101
ARG APP_GID=101

# policy-rc.d: the nginx package must not try to start a system nginx while it is installed.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && apt-get install -y --no-install-recommends ${NGINX_PACKAGES} nodejs openssl ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /usr/sbin/policy-rc.d \
 && node -e 'const [a, b] = process.versions.node.split(".").map(Number); \
      console.log("node " + process.version); if (a < 18 || (a === 18 && b < 19)) process.exit(1)' \
 && groupadd --system --gid "${APP_GID}" ingress \
 && useradd --system --uid "${APP_UID}" --gid "${APP_GID}" --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin ingress \
 && mkdir -p /etc/ingress-templater/manifests /var/run/ingress-templater \
 && chown "${APP_UID}:${APP_GID}" /var/run/ingress-templater \
 && chmod 0755 /var/run/ingress-templater

WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY templates ./templates
COPY nginx ./nginx
RUN ln -s /app/dist/src/cli.js /usr/local/bin/ingress-templater \
 && node /app/dist/src/cli.js --version
# run's default --manifests is ./manifests: from here, /etc/ingress-templater/manifests. Not set through
# INGRESS_TEMPLATER_MANIFESTS, which counts as given and would keep a pod with its service account (deploy/,
# API mode) reading an empty directory instead of the Kubernetes API.
WORKDIR /etc/ingress-templater

# Container defaults; every flag can still be given as an argument (`docker run IMAGE --http-port 9080`)
# or overridden through its INGRESS_TEMPLATER_* variable. The nginx internal port (10246) always binds
# 127.0.0.1; the status server binds all addresses so that kubelet probes reach /healthz.
# The nginx prefix is a directory *below* /var/run/ingress-templater, which the controller creates and
# so owns: a volume mounted at /var/run/ingress-templater (a Kubernetes emptyDir, a tmpfs) belongs to
# root, and the controller could not chmod it.
ENV INGRESS_TEMPLATER_NGINX_PREFIX=/var/run/ingress-templater/nginx \
    INGRESS_TEMPLATER_HTTP_PORT=8080 \
    INGRESS_TEMPLATER_HTTPS_PORT=8443 \
    INGRESS_TEMPLATER_STATUS_ADDRESS=0.0.0.0 \
    INGRESS_TEMPLATER_STATUS_PORT=10254 \
    NODE_ENV=production

USER ${APP_UID}:${APP_GID}
EXPOSE 8080 8443 10254

# Docker only (the OCI image format has no HEALTHCHECK; Kubernetes uses the probes in deploy/).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD node -e "require('http').get('http://127.0.0.1:'+(process.env.INGRESS_TEMPLATER_STATUS_PORT||10254)+'/healthz',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"

# SIGTERM: the controller quits nginx gracefully (SIGQUIT; SIGTERM/SIGKILL after 10 s) and exits 0.
# tini is PID 1: it forwards the signal to node and reaps nginx workers orphaned by a crashed master.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "node", "/app/dist/src/cli.js", "run"]
CMD []

ARG RUNTIME_IMAGE
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="ingress-templater" \
      org.opencontainers.image.description="nginx ingress controller: Kubernetes manifests in a directory become a validated, reloaded nginx.conf" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
