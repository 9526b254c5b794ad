#!/usr/bin/env bash
# The Pexip Web App 3 external-chat plugin: package it exactly as a user would
# (`make package`), lint and typecheck it, check the plugin id against the branding
# manifest, check the make version rules and the workflows, report the size, check the
# generated glue types, then run the end-to-end tests in headless Chromium (plugin from the
# zip, served under a strict CSP, in the Web App 3 stand-in, inside a top page that uses
# ExternalChatHost). The other Rust tests of crates/external-chat-wasm and
# crates/meeting-host run in 10-rust.sh with the rest of the workspace.
set -euo pipefail
cd "$(dirname "$0")/../.."
step() { printf -- '--- %s\n' "$*"; }

step "make package"
make --no-print-directory package
version=$(node -p "require('./external-chat/package.json').version")
zip="external-chat-v$version.zip"
listing=$(unzip -Z1 "$zip")
for f in webapp3/branding/manifest.json webapp3/branding/plugins/external-chat/index.html webapp3/branding/plugins/external-chat/external-chat.js; do
  grep -qx "$f" <<<"$listing" || { echo "$zip lacks $f"; exit 1; }
done

step "external-chat: lint, typecheck (tsc --noEmit)"
(cd external-chat && npm run --silent lint && npx tsc --noEmit)

step "plugin id check"
node external-chat/scripts/check-plugin-id.mjs

step "make bump / release: minor bump, in a scratch copy of the package"
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
cp external-chat/package.json external-chat/package-lock.json "$scratch/"
make --no-print-directory -s bump PLUGIN_DIR="$scratch" >/dev/null
bumped=$(node -p "require('$scratch/package.json').version")
expected=$(node -p "const [a,b]='$version'.split('.').map(Number); a+'.'+(b+1)+'.0'")
[ "$bumped" = "$expected" ] || { echo "make bump gave $bumped, expected $expected"; exit 1; }
[ "$(node -p "require('./external-chat/package.json').version")" = "$version" ] || { echo "make bump touched the real package"; exit 1; }
dry=$(make --no-print-directory -n release PLUGIN_DIR="$scratch")
grep -q 'npm version minor --no-git-tag-version' <<<"$dry" || { echo "make release does not bump"; exit 1; }
dry=$(make --no-print-directory -n package)
! grep -q 'npm version' <<<"$dry" || { echo "make package bumps"; exit 1; }
[ "$(make --no-print-directory -pn 2>/dev/null | sed -n 's/^\.DEFAULT_GOAL := //p' | sort -u)" = release ] || { echo "the default goal is not release"; exit 1; }

step "workflows"
python3 external-chat/scripts/check-workflows.py

step "plugin size"
node external-chat/scripts/size.mjs

step "generated glue types (bindings/commands.ts, bindings/host.ts) up to date"
cargo test -q --locked -p meetbridge-external-chat-wasm -p meetbridge-meeting-host --features codegen --lib bindings

step "meeting-host (ExternalChatHost) for the top page"
bash scripts/build-wasm.sh meetbridge-meeting-host web/pkg/meeting-host
(cd web && npx tsc -p e2e/pexip/tsconfig.json && npx eslint -c e2e/pexip/eslint.config.mjs webapp3-standin e2e/pexip)

step "end-to-end tests (headless Chromium)"
(cd web && node --test --test-concurrency=1 e2e/pexip/)
