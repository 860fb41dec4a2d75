#!/usr/bin/env bash
# Installs what the lab needs and is missing, idempotently.
# Usage: bash infra/install.sh [--for up|test]
#   --for up    what `npm run up` runs: nginx and redis-server (Debian), Kafka jars and lab 05's Apicurio schema
#               registry (Maven Central), toxiproxy-server (Go module proxy), node_modules (npm)
#   --for test  (default) the same, plus what only the tests use: Prometheus and Chromium (Debian)
# Versions are pinned in infra/versions.env; downloads are cached outside the repo in $CRM_LAB_CACHE.
# Debian packages need root: as root apt-get runs directly, otherwise through sudo.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=versions.env
source "$repo/infra/versions.env"
cache="${CRM_LAB_CACHE:-$HOME/.cache/crm-event-lab}"
log() { printf '[install] %s\n' "$*" >&2; }
usage() { echo "usage: bash infra/install.sh [--for up|test]" >&2; exit 2; }

purpose=test
case "${1:-}" in
  '') ;;
  --for) case "${2:-}" in up|test) purpose="$2" ;; *) usage ;; esac ;;
  *) usage ;;
esac

# Runs a command as root: directly when root, through sudo when it is there, else stops and says why.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    log "not root: running with sudo: $*"
    sudo "$@"
  else
    log "installing $why needs root (apt-get), and this user is not root and has no sudo."
    log "Run it as root (su -c 'bash infra/install.sh --for $purpose'), install sudo, or install $why yourself."
    exit 1
  fi
}

# apt-get install of Debian packages, with the reason shown if root is missing.
apt_install() {
  why="$*"
  log "installing $* from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

mkdir -p "$cache"

if ! command -v nginx >/dev/null 2>&1 && [ ! -x "${NGINX_BIN:-/usr/sbin/nginx}" ]; then
  apt_install nginx
fi

# Lab 07's shared per-customer rate-limit store (infra/redis.ts starts it on a free port).
if [ ! -x "${REDIS_SERVER_BIN:-/usr/bin/redis-server}" ]; then
  apt_install redis-server
fi

# Prometheus (promtool and a server that evaluates docs/alerts.yml in its test) and Chromium (the
# dashboard's headless browser test): the tests use them, `up` does not. No service is started.
if [ "$purpose" = test ]; then
  observability_missing=()
  [ -x "${PROMETHEUS_BIN:-/usr/bin/prometheus}" ] && [ -x "${PROMTOOL_BIN:-/usr/bin/promtool}" ] || observability_missing+=(prometheus)
  [ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ] || observability_missing+=(chromium)
  if [ "${#observability_missing[@]}" -gt 0 ]; then
    apt_install "${observability_missing[@]}"
  fi
fi

# Jars from Maven Central: a pom's runtime dependencies copied into a cache folder whose .complete
# holds the pom they came from, so a changed pom fetches again.
# Usage: fetch_jars <what> <libs folder> <pom text> [extra mvn arguments]
fetch_jars() {
  local what="$1" libs="$2" pom="$3"; shift 3
  [ "$(cat "$libs/.complete" 2>/dev/null)" = "$pom" ] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  log "fetching $what jars with Maven"
  local work
  work="$(mktemp -d)"
  printf '%s\n' "$pom" > "$work/pom.xml"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime "$@" -DoutputDirectory="$libs"
  rm -rf "$work"
  printf '%s' "$pom" > "$libs/.complete"
}
kafka_pom_of() { sed "s/@KAFKA_VERSION@/$KAFKA_VERSION/g" "$repo/infra/$1"; }

fetch_jars "Kafka $KAFKA_VERSION" "$cache/kafka-$KAFKA_VERSION/libs" "$(kafka_pom_of kafka-pom.xml)"
if [ "$purpose" = test ]; then
  # Kafka Streams (lab 06's tests and bench compare its processor with the real engine), same version
  # as the broker. javac compiles the lab's small Java topology, so the JDK (not only the JRE).
  fetch_jars "Kafka Streams $KAFKA_VERSION" "$cache/kafka-streams-$KAFKA_VERSION/libs" "$(kafka_pom_of kafka-streams-pom.xml)"
  command -v javac >/dev/null 2>&1 || apt_install openjdk-17-jdk-headless
  # MirrorMaker 2 (lab 08, infra/mirror-maker.ts), same version as the broker: only the two
  # connect-mirror jars (-DexcludeTransitive), the rest is in Kafka's own jars above. Own pom, own folder.
  fetch_jars "MirrorMaker 2 $KAFKA_VERSION" "$cache/kafka-mirror-$KAFKA_VERSION/libs" "$(kafka_pom_of kafka-mirror-pom.xml)" -DexcludeTransitive=true
fi

toxiproxy_bin="$cache/toxiproxy-$TOXIPROXY_VERSION/toxiproxy-server"
if [ ! -x "$toxiproxy_bin" ]; then
  command -v go >/dev/null 2>&1 || apt_install golang
  log "building toxiproxy-server $TOXIPROXY_VERSION with go install"
  gobin="$(mktemp -d)"
  GOBIN="$gobin" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  mkdir -p "$(dirname "$toxiproxy_bin")" && mv "$gobin/server" "$toxiproxy_bin" && rm -rf "$gobin"
fi

# --- schema registry (lab 05), for up and test alike -----------------------------------------
# Apicurio Registry as a ready Quarkus app: the tar.gz is fetched by its path on Maven Central
# (its parent POM is missing from some mirrors, so not through `mvn dependency:copy`) and
# checked against the pinned SHA-1. Started by infra/registry.ts.
registry_dir="$cache/apicurio-registry-$APICURIO_REGISTRY_VERSION"
if [ ! -f "$registry_dir/.complete" ]; then
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  maven_central="${MAVEN_CENTRAL_URL:-https://repo.maven.apache.org/maven2}"
  registry_url="$maven_central/io/apicurio/apicurio-registry-app/$APICURIO_REGISTRY_VERSION/apicurio-registry-app-$APICURIO_REGISTRY_VERSION-all.tar.gz"
  log "fetching Apicurio Registry $APICURIO_REGISTRY_VERSION from $maven_central"
  work="$(mktemp -d)"
  curl -fsSL --retry 3 -o "$work/registry.tar.gz" "$registry_url"
  echo "$APICURIO_REGISTRY_SHA1  $work/registry.tar.gz" | sha1sum -c --quiet -
  rm -rf "$registry_dir" && mkdir -p "$registry_dir"
  tar -xzf "$work/registry.tar.gz" -C "$registry_dir"
  rm -rf "$work"
  touch "$registry_dir/.complete"
fi
# --- end schema registry --------------------------------------------------------------------

# A node_modules that is a symlink belongs to another checkout (a git worktree sharing it): npm ci here
# would empty that checkout's modules, so only a missing one is reported.
if [ -L "$repo/node_modules" ]; then
  [ -f "$repo/node_modules/.package-lock.json" ] || { log "node_modules links to $(readlink "$repo/node_modules"), which has no modules: run npm ci there"; exit 1; }
elif [ ! -f "$repo/node_modules/.package-lock.json" ] || [ "$repo/package-lock.json" -nt "$repo/node_modules/.package-lock.json" ]; then
  log "installing node modules"
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
fi
