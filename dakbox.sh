#!/usr/bin/env bash
# One command for a fresh Debian 12 / Raspberry Pi OS machine with Node 20:
#   ./dakbox.sh start   install what is missing, then run the simulator
#   ./dakbox.sh test    install what is missing, then run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

# Libraries node-canvas builds against, fonts with Devanagari, Bengali and
# Kannada glyphs, the broker the tests run against, the speech engines, the
# QR decoder the tests check frames with, socat for serial pty pairs and
# openssl for the TLS test certificates, and chromium for the simulator
# page's browser tests.
PACKAGES=(
  build-essential pkg-config python3
  libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev
  fonts-noto-core fonts-dejavu-core
  mosquitto mosquitto-clients
  espeak-ng festival festvox-kallpc16k sox alsa-utils
  zbar-tools socat openssl strace
  chromium
)

install_system_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dakbox: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

install_node_packages() {
  # npm ci also builds the TypeScript (the prepare script).
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci
  else
    npm run build
  fi
}

install_voice_packs() {
  # A clip per word for each language, so payments are spoken without waiting
  # for a synthesiser. Rebuilt only when missing or out of date with the phrasebooks.
  if ! node bin/dakbox.js voice check >/dev/null 2>&1; then
    node bin/dakbox.js voice build || echo "dakbox: some voice clips could not be built; those announcements will be synthesised" >&2
  fi
}

case "${1:-}" in
  start)
    install_system_packages
    install_node_packages
    install_voice_packs
    shift
    exec node bin/dakbox.js simulate "$@"
    ;;
  test)
    install_system_packages
    install_node_packages
    install_voice_packs
    exec npm test
    ;;
  *)
    echo "usage: ./dakbox.sh start [simulator options] | ./dakbox.sh test" >&2
    exit 2
    ;;
esac
