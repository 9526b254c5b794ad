#!/usr/bin/env bash
# Rust: format, lint, every test of the workspace.
set -euo pipefail
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
cargo test --workspace --all-features --locked
