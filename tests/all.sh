#!/usr/bin/env bash
# Every check and test of the project, as CI runs it: formatting, lints, unit tests, the protocol
# fixtures and golden vectors, the tests of the server binary, the end-to-end tests (in-process server,
# real WebSockets, release build), the JS unit tests, and the browser tests in real Chromium against the
# release server.
# Needs what a fresh machine of this project has (Rust with rustfmt and clippy, Node.js 20+ with npm);
# installs the rest itself: the web client's npm packages, and Debian's chromium and redis-server (as
# root, or with sudo). The cluster's tests start their own redis-server processes on free ports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "web client packages (npm ci)"
npm --prefix web ci --no-audit --no-fund

step "Chromium for the browser tests, redis-server for the cluster's tests"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
chromium --version
redis-server --version

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test: protocol, simulation and server unit tests, and the binary's own tests (debug build)"
# The end-to-end tests (arena-tests) measure rates and latencies: they run on the release build below.
cargo test --workspace --exclude arena-tests --locked

step "release build (server, bots, benchmark)"
cargo build --release --locked -p arena-server -p arena-tests --bins

step "cargo test --release: end-to-end tests against an in-process server over real WebSockets"
cargo test --release --locked -p arena-tests

step "web client: type check (tsc --noEmit)"
npm --prefix web run typecheck

step "web client: unit tests and golden vectors (node --test)"
npm --prefix web test

step "browser end-to-end tests (playwright-core + Debian chromium, release server)"
ARENA_SERVER_BIN="$PWD/target/release/arena-server" ARENA_BOTS_BIN="$PWD/target/release/arena-bots" \
  npm --prefix web run test:browser

step "benchmark smoke: 8 rooms x 16 fighting bots for 10 s on a release build (fails on any bot error or skipped tick)"
./target/release/arena-bench --preset smoke

step "lag compensation, short form: duels at 100 ms ± 20 ms, compensation on and off (fails when on no longer hits clearly more)"
./target/release/arena-lagcomp --quick
