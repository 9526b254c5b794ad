//! Writes `crates/protocol/bindings/` from the Rust types. Run via `make bindings`.
fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    for (path, text) in meetbridge_protocol::codegen::files() {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("file has a folder"))?;
        std::fs::write(&path, text)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
