//! Fails when the committed TypeScript / JSON Schema files differ from what the Rust types
//! generate. Fix by running `make bindings` and committing the result.
use std::path::Path;

#[test]
fn committed_bindings_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings");
    let expected = meetbridge_protocol::codegen::files();
    let mut stale = Vec::new();
    for (path, text) in &expected {
        match std::fs::read_to_string(root.join(path)) {
            Ok(found) if &found == text => {}
            Ok(_) => stale.push(format!("{path} differs")),
            Err(_) => stale.push(format!("{path} is missing")),
        }
    }
    // A file the types no longer generate is stale too.
    for entry in walk(&root) {
        let rel = entry
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !expected.contains_key(&rel) {
            stale.push(format!("{rel} is no longer generated"));
        }
    }
    assert!(
        stale.is_empty(),
        "bindings are stale ({}); run `make bindings` and commit",
        stale.join(", ")
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
