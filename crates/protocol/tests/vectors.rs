//! Every example message of both seeds (see `vectors/README.md`) parses as the typed
//! message of its direction and re-encodes to the same JSON.
use std::path::Path;

use meetbridge_protocol::{legacy, ovice, pexip, Parsed};
use serde_json::Value;

fn vectors(dir: &str) -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(dir);
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            (p.file_stem().unwrap().to_string_lossy().into_owned(), value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "no vectors in {dir}");
    out
}

fn check<T: serde::Serialize + std::fmt::Debug>(
    dir: &str,
    parse: impl Fn(&Value) -> Parsed<T>,
    name_of: impl Fn(&T) -> &'static str,
) -> usize {
    let all = vectors(dir);
    for (file, value) in &all {
        match parse(value) {
            Parsed::Message(message) => {
                let again = serde_json::to_value(&message).unwrap();
                assert_eq!(&again, value, "{dir}/{file}: re-encoding differs");
                // The file is named after the seed's name for the message.
                let seed_name = name_of(&message);
                assert!(
                    file.starts_with(seed_name),
                    "{dir}/{file} parsed as {seed_name}"
                );
            }
            other => panic!("{dir}/{file}: expected a message, got {other:?}"),
        }
    }
    all.len()
}

#[test]
fn pexip_plugin_to_top() {
    assert_eq!(
        check("pexip/plugin-to-top", pexip::PluginToTop::parse, |m| m
            .name()),
        7
    );
}

#[test]
fn pexip_top_to_plugin() {
    assert_eq!(
        check("pexip/top-to-plugin", pexip::TopToPlugin::parse, |m| m
            .name()),
        4
    );
}

/// The oVice vectors, read from their text (as the host runtime reads what a plugin
/// posts): the message of the current contract or of the old one (`legacy`), and, for
/// the current one, the same JSON once encoded again.
fn check_ovice<T: serde::Serialize + std::fmt::Debug>(
    dir: &str,
    parse_text: impl Fn(&str) -> Parsed<T>,
    name_of: impl Fn(&T) -> &'static str,
    legacy_name: impl Fn(&Value) -> Option<&'static str>,
) -> usize {
    let all = vectors(dir);
    for (file, value) in &all {
        if let Some(name) = legacy_name(value) {
            assert!(file.starts_with(name), "{dir}/{file} read as {name}");
            continue;
        }
        match parse_text(&value.to_string()) {
            Parsed::Message(message) => {
                let again = serde_json::to_value(&message).unwrap();
                assert_eq!(&again, value, "{dir}/{file}: re-encoding differs");
                let name = name_of(&message);
                assert!(file.starts_with(name), "{dir}/{file} parsed as {name}");
            }
            other => panic!("{dir}/{file}: expected a message, got {other:?}"),
        }
    }
    all.len()
}

#[test]
fn ovice_plugin_to_platform() {
    assert_eq!(
        check_ovice(
            "ovice/plugin-to-platform",
            ovice::PluginToPlatform::parse_text,
            |m| m.name(),
            |v| match legacy::FromPlugin::parse(v) {
                Parsed::Message(legacy::FromPlugin::Handshake(h)) => Some(h.name()),
                _ => None,
            },
        ),
        9
    );
}

#[test]
fn ovice_platform_to_plugin() {
    assert_eq!(
        check_ovice(
            "ovice/platform-to-plugin",
            ovice::PlatformToPlugin::parse_text,
            |m| m.name(),
            |v| legacy::ToPlugin::parse(v).map(|_| "ovice_confirmation"),
        ),
        10
    );
}
