//! The committed TypeScript of the wasm boundary is what the Rust types generate
//! (`make bindings` regenerates it).
#[test]
fn bindings_are_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/space-host.ts");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == meetbridge_space_host::codegen::typescript(),
        "{} is stale: run `make bindings`",
        path.display()
    );
}
