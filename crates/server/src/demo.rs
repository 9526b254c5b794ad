//! The demo space of `serve --demo` (`make run`): a space and a few objects whose plugin
//! URLs point at the demo plugins the browser side builds into `web/dist/plugins/`.
//! The built-in seed is `crates/server/demo-seed.json`; `--demo-seed FILE` replaces it.
//! Seeding is idempotent: what exists is left as it is, except that an object seeded
//! before positions existed gets the seed's position.

use std::path::Path;

use anyhow::Context;
use meetbridge_protocol::ovice::ObjectType;
use meetbridge_protocol::plugin_url::{check_plugin_url, PluginUrl, PluginUrlPolicy};
use serde::Deserialize;

use crate::auth::token::now_secs;
use crate::store::{
    ObjectDef, ObjectSettings, Position, SpaceDef, SpaceSettings, Store, StoreError,
};

pub const BUILTIN_SEED: &str = include_str!("../demo-seed.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Seed {
    pub space: SeedSpace,
    pub objects: Vec<SeedObject>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeedSpace {
    pub id: String,
    pub name: String,
    /// Who may create meetings, the plugin origin allow-list.
    #[serde(default)]
    pub settings: SpaceSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedObject {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub object_type: ObjectType,
    pub plugin_url: String,
    #[serde(default)]
    pub settings: ObjectSettings,
    #[serde(default)]
    pub creator: Option<String>,
    /// Where it stands on the floor.
    #[serde(default)]
    pub position: Option<Position>,
}

pub fn load_seed(path: Option<&Path>) -> anyhow::Result<Seed> {
    let text = match path {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => BUILTIN_SEED.to_owned(),
    };
    serde_json::from_str(&text).context("parsing the demo seed")
}

/// Refuses a seed whose plugin URLs the policy (and the space's origin allow-list) does not
/// accept, or whose positions or sandbox settings are out of bounds, naming the object.
pub fn check_seed(seed: &Seed, policy: &PluginUrlPolicy<'_>) -> anyhow::Result<()> {
    let policy = PluginUrlPolicy {
        allowed_origins: &seed.space.settings.plugin_origins,
        ..*policy
    };
    for (i, o) in seed.objects.iter().enumerate() {
        let refused =
            |e: &dyn std::fmt::Display| anyhow::anyhow!("the demo seed's object {:?}: {e}", o.id);
        let url = check_plugin_url(&format!("objects[{i}].pluginUrl"), &o.plugin_url, &policy)
            .map_err(|e| refused(&e))?;
        o.settings
            .check(
                &format!("objects[{i}].settings"),
                url == PluginUrl::SameServer,
            )
            .map_err(|e| refused(&e))?;
        if let Some(p) = &o.position {
            p.check(&format!("objects[{i}].position"))
                .map_err(|e| refused(&e))?;
        }
    }
    Ok(())
}

/// Creates what the seed describes and is missing.
pub fn apply(store: &dyn Store, seed: &Seed) -> anyhow::Result<()> {
    let now = now_secs();
    match store.create_space(&SpaceDef {
        id: seed.space.id.clone(),
        name: seed.space.name.clone(),
        created_at: now,
        settings: seed.space.settings.clone(),
    }) {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    for o in &seed.objects {
        let def = ObjectDef {
            id: o.id.clone(),
            space_id: seed.space.id.clone(),
            name: o.name.clone(),
            object_type: o.object_type,
            plugin_url: o.plugin_url.clone(),
            settings: o.settings.clone(),
            creator: o.creator.clone(),
            created_at: now,
            position: o.position,
        };
        match store.create_object(&def) {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => place_unplaced(store, &def)?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Gives an existing object the seed's position when it has none (a data dir seeded by
/// an older version); an object placed since keeps its place.
fn place_unplaced(store: &dyn Store, seeded: &ObjectDef) -> anyhow::Result<()> {
    if let Some(mut existing) = store.object(&seeded.id)? {
        if existing.position.is_none() && seeded.position.is_some() {
            existing.position = seeded.position;
            store.update_object(&existing)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtin_seed_parses() {
        let seed = super::load_seed(None).unwrap();
        assert_eq!(seed.space.id, "demo");
        assert!(seed
            .objects
            .iter()
            .any(|o| o.plugin_url == "/plugins/notes/"));
        super::check_seed(&seed, &Default::default()).unwrap();
    }

    #[test]
    fn objects_seeded_before_positions_get_the_seeds_place_once() {
        use crate::store::{sqlite::SqliteStore, Position, SqliteSync, Store};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), SqliteSync::Normal).unwrap();
        let mut old = super::load_seed(None).unwrap();
        for o in &mut old.objects {
            o.position = None;
        }
        super::apply(&store, &old).unwrap();
        assert_eq!(store.object("demo-notes").unwrap().unwrap().position, None);
        let seed = super::load_seed(None).unwrap();
        super::apply(&store, &seed).unwrap();
        let placed = store.object("demo-notes").unwrap().unwrap();
        assert_eq!(placed.position, seed.objects[0].position);
        // Moved since: the seed leaves it where it is.
        let mut moved = placed.clone();
        moved.position = Some(Position { x: 1, y: 2 });
        store.update_object(&moved).unwrap();
        super::apply(&store, &seed).unwrap();
        assert_eq!(
            store.object("demo-notes").unwrap().unwrap().position,
            Some(Position { x: 1, y: 2 })
        );
    }

    #[test]
    fn a_seed_with_a_script_url_is_refused_naming_the_object() {
        let mut seed = super::load_seed(None).unwrap();
        seed.objects[1].plugin_url = "javascript:alert(1)".into();
        let err = super::check_seed(&seed, &Default::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("objects[1].pluginUrl") && err.contains("javascript"),
            "{err}"
        );
    }
}
