#!/usr/bin/env bash
# Builds every image the container route needs, idempotently:
#   crm-lab/debian:$DEBIAN_SUITE  debootstrap (minbase) from the Debian mirror apt uses, imported
#   crm-lab/kafka:$KAFKA_VERSION  official apache/kafka if it can be pulled, else Java 17 + the cached Kafka jars
#   crm-lab/toxiproxy:$TOXIPROXY_VERSION  official ghcr.io/shopify/toxiproxy if pullable, else the cached binary
#   crm-lab/nginx:$DEBIAN_SUITE   official nginx:$NGINX_VERSION if pullable, else Debian's nginx-light (checked to be $NGINX_VERSION)
#   crm-lab/redis:$DEBIAN_SUITE   Debian's redis-server, as natively (lab 07); the JVM apps run in the Kafka image
#   crm-lab/node:<node -v>       official node if pullable, else the host's node binary
#   crm-lab/app-deps:local       node_modules (the host's, so native addons match the Node)
#   crm-lab/app:local            the lab's code on it (API replicas and workers)
#   crm-lab/compose-nginx:local  nginx with the config docker-compose.yml needs, rendered from the template
# An image is rebuilt only when its inputs (Dockerfile + context) changed: their hash is a label.
# Usage: bash infra/images/build.sh [--no-pull]   (CRM_LAB_NO_PULL=1 skips trying registries)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/infra/images"
# shellcheck source=../versions.env
source "$repo/infra/versions.env"
cache="${CRM_LAB_CACHE:-$HOME/.cache/crm-event-lab}"
no_pull="${CRM_LAB_NO_PULL:-0}"; [ "${1:-}" = --no-pull ] && no_pull=1
export DOCKER_BUILDKIT=0 # the engine's classic builder: Debian's docker.io has no buildx
log() { printf '[images] %s\n' "$*" >&2; }

bash "$here/install-docker.sh"
bash "$repo/infra/install.sh" --for up # Kafka jars, toxiproxy-server, node_modules

node_version="$(node -p 'process.versions.node')"
BASE="crm-lab/debian:$DEBIAN_SUITE"
KAFKA_IMAGE="crm-lab/kafka:$KAFKA_VERSION"
TOXIPROXY_IMAGE="crm-lab/toxiproxy:$TOXIPROXY_VERSION"
NGINX_IMAGE="crm-lab/nginx:$DEBIAN_SUITE"
REDIS_IMAGE="crm-lab/redis:$DEBIAN_SUITE"
NODE_IMAGE="crm-lab/node:$node_version"
DEPS_IMAGE=crm-lab/app-deps:local
APP_IMAGE=crm-lab/app:local
COMPOSE_NGINX_IMAGE=crm-lab/compose-nginx:local

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

# official|local for one component: official when a registry serves its image (tried once, then
# remembered in the cache; delete $ctx_root/<name>.source to try again). No registry answers here.
source_of() {
  local name="$1" official="$2" file="$ctx_root/$1.source"
  mkdir -p "$ctx_root"
  if [ ! -f "$file" ]; then
    if [ "$no_pull" != 1 ] && timeout 30 docker pull -q "$official" >/dev/null 2>&1; then
      echo official >"$file"; log "$name: using the official $official"
    else
      echo local >"$file"; log "$name: no registry serves $official; building it locally"
    fi
  fi
  if [ "$(cat "$file")" = official ] && ! has_image "$official"; then docker pull -q "$official" >/dev/null; fi
  cat "$file"
}

# The Debian base of every locally built image, made once: debootstrap, then docker import.
ensure_base() {
  has_image "$BASE" && return
  local mirror rootfs started=$SECONDS
  # The first non-security Debian source apt uses.
  mirror="${DEBIAN_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -v security | head -n1 | awk '{print $2}' || true)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  log "$BASE: debootstrap --variant=minbase $DEBIAN_SUITE from $mirror"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { log "debootstrap failed:"; tail -n 20 "$rootfs.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* # the images run apt-get update
  tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"; trap - EXIT
  log "$BASE: built in $((SECONDS - started)) s"
}

inputs_label() { docker image inspect -f '{{index .Config.Labels "crm-lab.inputs"}}' "$1" 2>/dev/null || true; }

# build <image> <dockerfile> <context dir> <base> [inputs key]: skipped when the image's label
# matches the key (default: a hash of the Dockerfile, the base image and the context).
build() {
  local image="$1" dockerfile="$2" ctx="$3" base="$4" hash="${5:-}"
  [ "$base" = "$BASE" ] && ensure_base
  if [ -z "$hash" ]; then
    hash="$( (cat "$dockerfile"; echo "$base"; docker image inspect -f '{{.Id}}' "$base";
              tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ctx" -c .) | sha256sum | cut -c1-16)"
  fi
  if [ "$(inputs_label "$image")" = "$hash" ]; then
    log "$image: up to date"
    return
  fi
  log "$image: building"
  local started=$SECONDS
  # Output only on failure: the classic builder also prints a deprecation notice each time.
  # --force-rm: a failed step leaves no stopped container behind.
  if ! docker build --force-rm --network host --build-arg "BASE=$base" --label "crm-lab.inputs=$hash" \
    -f "$dockerfile" -t "$image" "$ctx" >"$ctx.build.log" 2>&1; then
    tail -n 30 "$ctx.build.log" >&2
    log "$image: build failed (log: $ctx.build.log)"
    exit 1
  fi
  log "$image: built in $((SECONDS - started)) s"
}

# A build context of hard links (same filesystem as the cache) or copies.
stage() { rm -rf "$1" && mkdir -p "$1"; }
link() { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; }
ctx_root="$cache/image-contexts"

ctx="$ctx_root/kafka"; stage "$ctx"
cp "$here/kafka/kafka-node.sh" "$ctx/"
# The native broker's log4j settings, from the one place that defines them.
(cd "$repo" && node_modules/.bin/tsx -e "import('./infra/kafka.ts').then((m) => process.stdout.write(m.log4jProperties))") \
  >"$ctx/log4j.properties"
if [ "$(source_of kafka "apache/kafka:$KAFKA_VERSION")" = official ]; then
  build "$KAFKA_IMAGE" "$here/kafka/Dockerfile.official" "$ctx" "apache/kafka:$KAFKA_VERSION"
else
  link "$cache/kafka-$KAFKA_VERSION/libs" "$ctx/libs"
  build "$KAFKA_IMAGE" "$here/kafka/Dockerfile" "$ctx" "$BASE"
fi

official="ghcr.io/shopify/toxiproxy:${TOXIPROXY_VERSION#v}"
if [ "$(source_of toxiproxy "$official")" = official ]; then
  docker tag "$official" "$TOXIPROXY_IMAGE"
else
  ctx="$ctx_root/toxiproxy"; stage "$ctx"
  link "$cache/toxiproxy-$TOXIPROXY_VERSION/toxiproxy-server" "$ctx/toxiproxy-server"
  build "$TOXIPROXY_IMAGE" "$here/toxiproxy/Dockerfile" "$ctx" "$BASE"
fi

if [ "$(source_of nginx "nginx:$NGINX_VERSION")" = official ]; then
  docker tag "nginx:$NGINX_VERSION" "$NGINX_IMAGE"
else
  ctx="$ctx_root/nginx"; stage "$ctx"
  echo "$NGINX_VERSION" >"$ctx/nginx.version" # in the context, so a new pin rebuilds the image
  build "$NGINX_IMAGE" "$here/nginx/Dockerfile" "$ctx" "$BASE"
fi

# Nothing but the Dockerfile: the suite comes in with the base (its id is part of the inputs hash).
ctx="$ctx_root/redis"; stage "$ctx"
build "$REDIS_IMAGE" "$here/redis/Dockerfile" "$ctx" "$BASE"

official="node:$node_version-$DEBIAN_SUITE-slim"
if [ "$(source_of node "$official")" = official ]; then
  docker tag "$official" "$NODE_IMAGE"
else
  ctx="$ctx_root/node"; stage "$ctx"
  cp "$(node -p 'process.execPath')" "$ctx/node"
  build "$NODE_IMAGE" "$here/node/Dockerfile" "$ctx" "$BASE"
fi

# node_modules in an image of its own, keyed on the lockfiles and the Node image: hashing 200 MB
# of files on every run would cost more than the code's own rebuild.
deps_key="$( (cat "$here/app/Dockerfile.deps" "$repo/package-lock.json" "$repo/node_modules/.package-lock.json";
  docker image inspect -f '{{.Id}}' "$NODE_IMAGE") | sha256sum | cut -c1-16)"
if [ "$(inputs_label "$DEPS_IMAGE")" = "$deps_key" ]; then
  log "$DEPS_IMAGE: up to date"
else
  ctx="$ctx_root/app-deps"; stage "$ctx"
  link "$(readlink -f "$repo/node_modules")" "$ctx/node_modules"
  build "$DEPS_IMAGE" "$here/app/Dockerfile.deps" "$ctx" "$NODE_IMAGE" "$deps_key"
fi

# The code: what git tracks (and untracked files it does not ignore) under the folders the labs run from.
ctx="$ctx_root/app"; stage "$ctx"
(cd "$repo" && git ls-files -co --exclude-standard -- package.json package-lock.json tsconfig.json shared infra labs \
  | tar -c -T - ) | tar -C "$ctx" -x
build "$APP_IMAGE" "$here/app/Dockerfile" "$ctx" "$DEPS_IMAGE"

ctx="$ctx_root/compose-nginx"; stage "$ctx"
(cd "$repo" && node_modules/.bin/tsx infra/nginx.ts --docker) > "$ctx/nginx.conf"
build "$COMPOSE_NGINX_IMAGE" "$here/nginx/Dockerfile.compose" "$ctx" "$NGINX_IMAGE"

# Rebuilds leave the previous image untagged: drop those (ours only, by their label).
docker image prune -f --filter label=crm-lab.inputs >/dev/null
log "images ready: $KAFKA_IMAGE $TOXIPROXY_IMAGE $NGINX_IMAGE $REDIS_IMAGE $NODE_IMAGE $APP_IMAGE $COMPOSE_NGINX_IMAGE"
