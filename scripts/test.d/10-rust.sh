#!/usr/bin/env bash
# Rust: format, lint, every test of the workspace.
# The tests run without --all-features so that the server binary they build is the one
# the later steps (`cargo build -p meetbridge-server`) use, instead of a second build of it; the
# codegen feature's one test (generated bindings up to date) runs on its own.
set -euo pipefail
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
cargo test --workspace --locked
cargo test -p meetbridge-protocol --features codegen --locked --test bindings
cargo test -p meetbridge-space-host --features codegen --locked --test bindings
