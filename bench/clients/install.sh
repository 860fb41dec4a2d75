#!/usr/bin/env bash
# Installs the two Kafka clients that `npm run bench:clients` compares with kafkajs, idempotently, into
# a cache folder outside the repo ($CRM_LAB_CACHE/bench-clients), so neither `up`, the tests nor CI
# ever install them:
#   @confluentinc/kafka-javascript (librdkafka, native): its prebuilt binary is downloaded from GitHub,
#     which is unreachable here, and its default static build downloads OpenSSL/zstd/curl sources, also
#     unreachable. CKJS_LINKING=dynamic builds the bundled librdkafka against the system's libraries
#     instead (Debian: build-essential python3 libssl-dev zlib1g-dev; libsasl2-dev, libzstd-dev and
#     liblz4-dev are picked up when present), and node-gyp uses the local Node's headers.
#     node-gyp's make must run with JOBS=1: in parallel it can reach a rule needing librdkafka's config.h
#     before the action that generates it ("No rule to make target '../deps/librdkafka/config.h'");
#     librdkafka itself is still compiled with `make -j` (its own gyp action), niced.
#   @platformatic/kafka (pure TypeScript): no build.
# Versions are pinned in cache-package.json beside this script (not named package.json: that would make
# this folder a CommonJS package); a changed one installs again. Transitive versions are not locked.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${CRM_LAB_CACHE:-$HOME/.cache/crm-event-lab}/bench-clients"
log() { printf '[bench-clients install] %s\n' "$*" >&2; }

if cmp -s "$here/cache-package.json" "$cache/.complete"; then
  exit 0
fi

build_deps=(build-essential python3 libssl-dev zlib1g-dev libsasl2-dev libzstd-dev liblz4-dev)
missing=()
for pkg in "${build_deps[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing build dependencies from Debian: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
[ -f "$node_prefix/include/node/node.h" ] || { log "no Node headers under $node_prefix/include/node: node-gyp would try to download them"; exit 1; }

log "installing $(grep -o '"@[^"]*": *"[^"]*"' "$here/cache-package.json" | tr -d ' "' | tr '\n' ' ')into $cache (builds librdkafka from source: minutes)"
start=$SECONDS
rm -rf "$cache" && mkdir -p "$cache"  # a half-built folder is never reused
cp "$here/cache-package.json" "$cache/package.json"
(
  cd "$cache"
  CKJS_LINKING=dynamic \
  npm_config_build_from_source=true \
  npm_config_nodedir="$node_prefix" \
  JOBS=1 \
  nice -n 10 npm install --no-audit --no-fund --no-package-lock --loglevel=error --foreground-scripts
) > "$cache/install.log" 2>&1 || { tail -40 "$cache/install.log" >&2; log "install failed; full log in $cache/install.log"; exit 1; }
cp "$here/cache-package.json" "$cache/.complete"
log "installed in $((SECONDS - start)) s"
