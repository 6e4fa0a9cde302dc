#!/usr/bin/env bash
# Builds the Debian base image every stand-in starts FROM: no registry here, so debootstrap + docker import.
# Usage: build-base.sh IMAGE_TAG   (skips the work when the tag already exists)
set -euo pipefail
tag=${1:?usage: build-base.sh IMAGE_TAG}
if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }

# What the stand-ins need: python3 (Airflow, MiniStack), nodejs (Azurite), postgresql-15, redis-server,
# tini/gosu (init and user switch, as in the official images), curl/wget (the healthchecks the
# official images allow).
packages=python3,python3-venv,nodejs,postgresql-15,redis-server,tini,gosu,curl,wget,ca-certificates,procps,netbase,tzdata,libpq5
root=$(mktemp -d /tmp/xcom-lab-rootfs.XXXXXX)
# debootstrap mounts proc/sys inside the target: unmount before removing, and never cross into a mount.
cleanup() { { grep -o " $root/[^ ]*" /proc/mounts || true; } | sort -r | xargs -r -n1 umount -l; rm -rf --one-file-system "$root"; }
trap cleanup EXIT
echo "building $tag with debootstrap (1-3 minutes, mostly downloads)"
# The mirror sometimes drops a download; debootstrap itself never retries.
for attempt in 1 2 3; do
  if debootstrap --variant=minbase --include="$packages" bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1; then
    break
  fi
  tail -5 "$root.log" >&2
  [ "$attempt" -lt 3 ] || { echo "debootstrap failed 3 times; full log: $root.log" >&2; exit 1; }
  echo "debootstrap failed (attempt $attempt of 3), retrying" >&2
  cleanup && mkdir -p "$root"
done
# postgresql-15 creates a default cluster we never use: the postgres stand-in runs initdb like the official image.
rm -rf "$root"/var/lib/postgresql/15 "$root"/etc/postgresql/15 "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$tag" >/dev/null
rm -f "$root.log"
echo "built $tag"
