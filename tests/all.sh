#!/usr/bin/env bash
# Every check and test of the project, as CI runs it: formatting, lints, unit tests, the protocol
# fixtures, the end-to-end tests against the real server binary,
# the JS unit tests, and the browser tests in real Chromium.
# Needs what a fresh machine of this project has (Rust with rustfmt and clippy, Node.js 20+ with npm);
# installs the rest itself: the web client's npm packages, and Debian's chromium (as root, or with sudo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "web client packages (npm ci)"
npm --prefix web ci --no-audit --no-fund

step "Chromium for the browser tests"
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
chromium --version

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build the binaries the end-to-end tests start"
cargo build --workspace --bins --locked

step "cargo test"
cargo test --workspace --locked

step "web client: type check (tsc --noEmit)"
npm --prefix web run typecheck

step "web client: unit tests (node --test)"
npm --prefix web test

step "browser end-to-end tests (playwright-core + Debian chromium)"
npm --prefix web run test:browser

step "benchmark smoke: 8 rooms x 16 fighting bots for 10 s on a release build (fails on any bot error or skipped tick)"
cargo build --release --locked -p arena-server -p arena-tests --bins
./target/release/arena-bench --preset smoke
