//! Replays the fuzzers' corpus through the same checks the fuzz targets run
//! ([`meetbridge_protocol::fuzzing`]), on the stable toolchain, as part of `cargo test`:
//! `fuzz/regressions/<target>/` (every input that once made a target fail, kept after the
//! fix) and the seeds each target starts from (the seed examples in `vectors/`, the frames
//! in `fuzz/seeds/<target>/`).
use std::path::{Path, PathBuf};

use meetbridge_protocol::fuzzing::TARGETS;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.file_name().is_some_and(|n| n != "README.md") {
            out.push(path);
        }
    }
}

fn corpus(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fuzz = root.join("../../fuzz");
    let mut files = Vec::new();
    files_under(&fuzz.join("regressions").join(target), &mut files);
    files_under(&fuzz.join("seeds").join(target), &mut files);
    if matches!(target, "pexip" | "ovice") {
        files_under(&root.join("vectors").join(target), &mut files);
    }
    files.sort();
    files
}

#[test]
fn every_corpus_input_passes_its_target() {
    for (target, check) in TARGETS {
        let files = corpus(target);
        assert!(!files.is_empty(), "no corpus for the `{target}` target");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("{} fails the `{target}` checks", file.display());
            }
        }
    }
}
