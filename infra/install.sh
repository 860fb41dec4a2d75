#!/usr/bin/env bash
# Installs what the lab needs and is missing, idempotently:
#   nginx, prometheus, chromium (Debian), Kafka jars (Maven Central), toxiproxy-server (Go module proxy), node_modules (npm).
# Versions are pinned in infra/versions.env; downloads are cached outside the repo in $CRM_LAB_CACHE.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=versions.env
source "$repo/infra/versions.env"
cache="${CRM_LAB_CACHE:-$HOME/.cache/crm-event-lab}"
mkdir -p "$cache"
log() { printf '[install] %s\n' "$*" >&2; }

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  log "installing nginx from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi

# Prometheus (promtool and a server that evaluates docs/alerts.yml in its test) and Chromium (the
# dashboard's headless browser test), from Debian. No service is started: the tests run their own.
observability_missing=()
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] || observability_missing+=(prometheus)
[ -x /usr/bin/chromium ] || observability_missing+=(chromium)
if [ "${#observability_missing[@]}" -gt 0 ]; then
  log "installing ${observability_missing[*]} from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${observability_missing[@]}" >/dev/null
fi

kafka_libs="$cache/kafka-$KAFKA_VERSION/libs"
kafka_pom="$(sed "s/@KAFKA_VERSION@/$KAFKA_VERSION/" "$repo/infra/kafka-pom.xml")"
# .complete holds the pom the jars came from: a changed pom fetches again.
if [ "$(cat "$kafka_libs/.complete" 2>/dev/null)" != "$kafka_pom" ]; then
  command -v mvn >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null; }
  command -v java >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
  log "fetching Kafka $KAFKA_VERSION jars with Maven"
  work="$(mktemp -d)"
  printf '%s\n' "$kafka_pom" > "$work/pom.xml"
  rm -rf "$kafka_libs" && mkdir -p "$kafka_libs"
  mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$kafka_libs"
  rm -rf "$work"
  printf '%s' "$kafka_pom" > "$kafka_libs/.complete"
fi

toxiproxy_bin="$cache/toxiproxy-$TOXIPROXY_VERSION/toxiproxy-server"
if [ ! -x "$toxiproxy_bin" ]; then
  command -v go >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang >/dev/null; }
  log "building toxiproxy-server $TOXIPROXY_VERSION with go install"
  gobin="$(mktemp -d)"
  GOBIN="$gobin" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  mkdir -p "$(dirname "$toxiproxy_bin")" && mv "$gobin/server" "$toxiproxy_bin" && rm -rf "$gobin"
fi

# --- schema registry (lab 05) ---------------------------------------------------------------
# Apicurio Registry as a ready Quarkus app: the tar.gz is fetched by its path on Maven Central
# (its parent POM is missing from some mirrors, so not through `mvn dependency:copy`) and
# checked against the pinned SHA-1. Started by infra/registry.ts.
registry_dir="$cache/apicurio-registry-$APICURIO_REGISTRY_VERSION"
if [ ! -f "$registry_dir/.complete" ]; then
  command -v java >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
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

if [ ! -f "$repo/node_modules/.package-lock.json" ] || [ "$repo/package-lock.json" -nt "$repo/node_modules/.package-lock.json" ]; then
  log "installing node modules"
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
fi
