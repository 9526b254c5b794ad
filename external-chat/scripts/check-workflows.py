#!/usr/bin/env python3
"""Checks that .github/workflows/ci.yml and release.yml parse and run the plugin contract's release steps.

Not a full GitHub Actions schema check: it reads the YAML and asserts the triggers, the
commands and the names the contract asks for, so a workflow that drifts from it fails.
"""
import pathlib
import sys

import yaml

root = pathlib.Path(__file__).resolve().parents[2]
errors = []


def load(name):
    path = root / ".github" / "workflows" / name
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow):
    out = []
    for job in workflow["jobs"].values():
        out.extend(job.get("steps", []))
    return out


def runs(workflow):
    return "\n".join(s.get("run", "") for s in steps(workflow))


def bumps(text):
    return any(l.strip().startswith(("make bump", "make release", "npm version")) or l.strip() == "make"
               for l in text.splitlines())


def expect(cond, message):
    if not cond:
        errors.append(message)


ci = load("ci.yml")
on = ci["on"]
expect(on.get("push", {}).get("branches") == ["main"], "ci: push to main")
expect("pull_request" in on, "ci: pull requests")
expect("workflow_dispatch" in on, "ci: manual dispatch")
text = runs(ci)
order = ["npm ci", "npm run lint", "npm run typecheck", "make package"]
positions = [text.find(c) for c in order]
expect(all(p >= 0 for p in positions), f"ci: runs {order}")
expect(positions == sorted(positions), f"ci: in the order {order}")
expect(not bumps(text), "ci: never bumps")
uploads = [s for s in steps(ci) if str(s.get("uses", "")).startswith("actions/upload-artifact")]
expect(len(uploads) == 1, "ci: uploads one artifact")
if uploads:
    w = uploads[0]["with"]
    expect(w.get("name") == "external-chat-v${{ steps.version.outputs.version }}", "ci: artifact name external-chat-v<version>")
    expect(w.get("path") == "external-chat-v${{ steps.version.outputs.version }}.zip", "ci: uploads the zip")

release = load("release.yml")
expect(list(release["on"]) == ["workflow_dispatch"], "release: manual only")
expect(release.get("permissions", {}).get("contents") == "write", "release: may write tags and releases")
text = runs(release)
expect("make package" in text and not bumps(text), "release: packages without bumping")
expect("Bump the version first" in text and "exit 1" in text, "release: fails with a reminder when the release exists")
expect(text.find("exit 1") < text.find("gh release create"), "release: checks before publishing")
expect('git push origin "$TAG"' in text, "release: pushes the tag v<version>")
expect("gh release create" in text and "--generate-notes" in text and '"$ZIP"' in text, "release: publishes the zip with generated notes")

for name in ("ci.yml", "release.yml"):
    wf = load(name)
    s = runs(wf)
    expect("wasm32-unknown-unknown" in yaml.safe_dump(wf) and "wasm-bindgen-cli" in s, f"{name}: installs the Rust wasm toolchain")

if errors:
    for e in errors:
        print(f"check-workflows: {e}", file=sys.stderr)
    sys.exit(1)
print("check-workflows: ci.yml and release.yml parse and run the contract's steps")
