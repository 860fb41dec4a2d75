#!/usr/bin/env bash
# Installs a Docker engine, docker-compose and debootstrap from Debian if missing, and starts dockerd
# (as root, in the background, logging to /var/log/crm-lab-dockerd.log) if no daemon answers. Idempotent.
set -euo pipefail
log() { printf '[install-docker] %s\n' "$*" >&2; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
# Compose: the v2 plugin if the engine has one, else Debian's docker-compose (1.29).
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/crm-lab-dockerd.log)"
  nohup dockerd >/var/log/crm-lab-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer; see /var/log/crm-lab-dockerd.log"; exit 1; }
fi
