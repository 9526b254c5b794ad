//! Replays the corpus of the `session_frames` fuzz target through the same checks
//! ([`meetbridge_server::fuzzing::session_frames`]) on the stable toolchain:
//! `fuzz/regressions/session_frames/` (every input that once made it fail, kept after the
//! fix) and the seeds it starts from (`fuzz/seeds/session_frames/`).

use std::path::Path;

#[test]
fn every_session_frames_input_passes_its_checks() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for dir in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join("session_frames")) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() && path.file_name().is_some_and(|n| n != "README.md") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 2, "no corpus for session_frames: {files:?}");
    for file in files {
        let data = std::fs::read(&file).unwrap();
        if std::panic::catch_unwind(|| meetbridge_server::fuzzing::session_frames(&data)).is_err() {
            panic!("{} fails the session_frames checks", file.display());
        }
    }
}
