#!/usr/bin/env bash
# Install the Debian packages scsms builds, tests and runs with.
# Run as root (or with sudo available). Safe to run again.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libzmq3-dev            # ZeroMQ: CURVE transport between agents and server
  libprotobuf-c-dev protobuf-c-compiler   # the record and wire schema
  liblmdb-dev lmdb-utils # the store
  libssl-dev             # SHA-256 and Ed25519 (OpenSSL EVP)
  libjson-c-dev          # JSON import/export and --json input
  libinih-dev            # scsms.ini settings
  check                  # unit test framework
  chromium               # renders the review pack in the browser test
  fonts-dejavu-core      # a font for it to render the pack's text with
  systemd                # systemd-analyze: the deploy test verifies deploy/systemd units
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: run as root (apt-get needs it)" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
echo "install-deps: ${#PACKAGES[@]} packages present"
