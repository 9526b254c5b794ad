# meetbridge build. Run every target from the repository root.
#
#   make run    build what is needed, start the server with the demo (embedded SQLite)
#   make run-cluster   the same, as three nodes (8081-8083) on the machine's PostgreSQL and NATS
#   make test   install what is missing, then run every check and test
#
# The Pexip plugin targets (release, all, bump, build, deploy, package, clean) follow
# the Pexip plugin contract exactly: `make` = `make release` bumps the minor version; build/deploy/package
# use the current version from external-chat/package.json.

SHELL := /bin/bash
.DEFAULT_GOAL := release

WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
CARGO ?= cargo
PLUGIN_DIR := external-chat
DEPLOY_DIR := webapp3/branding/plugins/external-chat
VERSION = $(shell node -p "require('$(abspath $(PLUGIN_DIR))/package.json').version")
ZIP = external-chat-v$(VERSION).zip

.PHONY: all release bump build deploy package clean run run-cluster test tools wasm wasm-size bindings fuzz

# ---- the external-chat plugin ------------------------------------------------------
all: release

# `bump` first, then `package` in a second make, so `make -j` cannot zip the old version.
release: bump
	@$(MAKE) --no-print-directory package

bump:
	cd $(PLUGIN_DIR) && npm version minor --no-git-tag-version

# npm ci when the plugin's dependencies are missing; `npm run build` compiles
# crates/external-chat-wasm (scripts/build-wasm.sh) then runs vite.
build:
	cd $(PLUGIN_DIR) && { test -x node_modules/.bin/vite || npm ci --no-audit --no-fund --loglevel=error; } && npm run build

deploy: build
	rm -rf $(DEPLOY_DIR)
	mkdir -p $(DEPLOY_DIR)
	cp -R $(PLUGIN_DIR)/dist/. $(DEPLOY_DIR)/

package: deploy
	node $(PLUGIN_DIR)/scripts/check-plugin-id.mjs
	rm -f $(ZIP)
	zip -qr $(ZIP) webapp3
	@echo "packaged $(ZIP)"

clean:
	rm -rf $(PLUGIN_DIR)/dist $(DEPLOY_DIR)

# ---- toolchain ---------------------------------------------------------------------
tools:
	bash scripts/install-tools.sh $(WASM_BINDGEN_VERSION)

# ---- fuzzing (nightly; not part of `make test`) -------------------------------------------
# Each target for FUZZ_SECS seconds (default 60); `make fuzz FUZZ_TARGETS="ovice pexip"`.
fuzz:
	bash scripts/install-tools.sh --fuzz
	bash scripts/fuzz.sh

# ---- everything else -----------------------------------------------------------------
test: tools
	bash scripts/test.sh

# The address is checked before the tools and the build, so a taken port is said at once.
run:
	bash scripts/run.sh --check-port
	@$(MAKE) --no-print-directory tools
	bash scripts/run.sh

# Ports, PostgreSQL and NATS are checked before the tools and the build (docs/CLUSTER.md).
run-cluster:
	bash scripts/run-cluster.sh --check
	@$(MAKE) --no-print-directory tools
	bash scripts/run-cluster.sh

# ---- generated TypeScript / JSON Schema from the protocol crate -------------------------
bindings:
	$(CARGO) run -q -p meetbridge-protocol --features codegen --bin protocol-codegen
	UPDATE_BINDINGS=1 $(CARGO) test -q -p meetbridge-external-chat-wasm -p meetbridge-meeting-host --features codegen --lib bindings
	$(CARGO) run -q -p meetbridge-space-host --features codegen --bin space-host-codegen

# ---- the browser builds (the host runtime; the plugin's wasm is built by its own step) ----
wasm: tools
	cd web && npm run wasm

wasm-size: tools
	bash scripts/wasm-size.sh
