//! Writes `crates/space-host/bindings/space-host.ts` (see `meetbridge_space_host::codegen`).
fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/space-host.ts");
    std::fs::write(&path, meetbridge_space_host::codegen::typescript()).expect("write bindings");
    println!("wrote {}", path.display());
}
