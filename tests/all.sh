#!/usr/bin/env bash
# Every check and test of the project, as CI runs it: formatting, lints, unit tests, the protocol
# fixtures, and the end-to-end tests against the real server binary.
# Needs only what a fresh machine of this project has: a Rust toolchain with rustfmt and clippy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build the binaries the end-to-end tests start"
cargo build --workspace --bins --locked

step "cargo test"
cargo test --workspace --locked
