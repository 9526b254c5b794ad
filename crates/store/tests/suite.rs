//! One suite for every backend: each test runs on SQLite (`..._sqlite`, a temporary
//! directory) and on PostgreSQL (`..._postgres`: 127.0.0.1:5432, database `test`, a schema
//! of its own per test, dropped afterwards; `MEETBRIDGE_TEST_PG` overrides the URL).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use meetbridge_protocol::ovice::ObjectType;
use meetbridge_store::postgres::PgStore;
use meetbridge_store::sqlite::SqliteStore;
use meetbridge_store::*;

/// Where a backend keeps its data, so a test can close the store and open it again.
trait Backend {
    fn open(&self) -> Box<dyn Store>;
}

struct Sqlite(tempfile::TempDir);

impl Backend for Sqlite {
    fn open(&self) -> Box<dyn Store> {
        Box::new(SqliteStore::open(self.0.path(), SqliteSync::Full).unwrap())
    }
}

struct Postgres {
    url: String,
    schema: String,
}

fn pg_url() -> String {
    std::env::var("MEETBRIDGE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl Backend for Postgres {
    fn open(&self) -> Box<dyn Store> {
        match PgStore::connect(&self.url, &self.schema) {
            Ok(store) => Box::new(store),
            Err(e) => panic!(
                "PostgreSQL does not answer at {} ({e}); the `_postgres` tests need it \
                 (trust auth, database `test`; CI has it)",
                self.url
            ),
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await;
            }
        });
    }
}

fn sqlite() -> Sqlite {
    Sqlite(tempfile::tempdir().unwrap())
}

fn postgres() -> Postgres {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Postgres {
        url: pg_url(),
        schema: format!(
            "mbtest_{}_{nanos}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ),
    }
}

/// Runs each body on both backends, as the two test names given.
macro_rules! suite {
    ($($on_sqlite:ident, $on_postgres:ident => $body:path;)*) => {
        $(
            #[test]
            fn $on_sqlite() {
                $body(&sqlite() as &dyn Backend)
            }
            #[test]
            fn $on_postgres() {
                $body(&postgres() as &dyn Backend)
            }
        )*
    };
}

suite! {
    spaces_objects_and_settings_persist_sqlite, spaces_objects_and_settings_persist_postgres => spaces_objects_and_settings_persist;
    saves_commit_in_order_and_versions_follow_the_commit_order_sqlite, saves_commit_in_order_and_versions_follow_the_commit_order_postgres => saves_commit_in_order;
    the_log_is_durable_and_numbering_goes_on_after_a_restart_sqlite, the_log_is_durable_and_numbering_goes_on_after_a_restart_postgres => log_is_durable;
    log_reads_page_forward_and_backward_for_a_viewer_sqlite, log_reads_page_forward_and_backward_for_a_viewer_postgres => log_reads_page;
    retention_prunes_by_count_age_and_bytes_in_batches_sqlite, retention_prunes_by_count_age_and_bytes_in_batches_postgres => retention_prunes;
    remembered_ids_survive_a_restart_until_forgotten_sqlite, remembered_ids_survive_a_restart_until_forgotten_postgres => remembered_ids;
    concurrent_appends_share_commits_and_all_land_sqlite, concurrent_appends_share_commits_and_all_land_postgres => concurrent_appends;
    text_is_stored_exactly_as_given_sqlite, text_is_stored_exactly_as_given_postgres => text_is_exact;
    revocations_persist_and_move_forward_sqlite, revocations_persist_and_move_forward_postgres => revocations_persist;
    objects_are_edited_and_positions_persist_sqlite, objects_are_edited_and_positions_persist_postgres => objects_are_edited;
    deleting_an_object_removes_what_it_kept_sqlite, deleting_an_object_removes_what_it_kept_postgres => deleting_an_object;
    spaces_are_renamed_and_deleted_with_their_objects_sqlite, spaces_are_renamed_and_deleted_with_their_objects_postgres => spaces_are_edited;
    a_save_at_a_version_never_replaces_a_later_one_sqlite, a_save_at_a_version_never_replaces_a_later_one_postgres => saves_at_versions;
    concurrent_creations_from_two_stores_never_exceed_a_quota_sqlite, concurrent_creations_from_two_stores_never_exceed_a_quota_postgres => quotas_are_atomic;
}

fn objects_are_edited(b: &dyn Backend) {
    {
        let store = b.open();
        store.create_space(&space("s")).unwrap();
        let mut o = object("o1", "s");
        o.position = Some(Position { x: 120, y: 340 });
        store.create_object(&o).unwrap();
        assert_eq!(store.object("o1").unwrap().unwrap().position, o.position);
        let edited = ObjectDef {
            name: "Renamed".into(),
            object_type: ObjectType::Static,
            plugin_url: "https://plugins.example.com/p/".into(),
            settings: ObjectSettings {
                share_email: false,
                retention: Some(Retention {
                    max_messages: Some(7),
                    ..Retention::default()
                }),
                sandbox: Some(vec!["allow-scripts".into()]),
                allow: Some(vec![]),
            },
            creator: None,
            position: Some(Position { x: 0, y: 520 }),
            ..o.clone()
        };
        store.update_object(&edited).unwrap();
        assert!(matches!(
            store.update_object(&object("nope", "s")),
            Err(StoreError::Missing(_))
        ));
    }
    let store = b.open();
    let o1 = store.object("o1").unwrap().unwrap();
    assert_eq!(o1.name, "Renamed");
    assert_eq!(o1.object_type, ObjectType::Static);
    assert_eq!(o1.plugin_url, "https://plugins.example.com/p/");
    assert_eq!(o1.settings.retention.unwrap().max_messages, Some(7));
    assert_eq!(
        o1.settings.sandbox.as_deref(),
        Some(&["allow-scripts".to_owned()][..])
    );
    assert_eq!(o1.settings.allow.as_deref(), Some(&[][..]));
    assert_eq!(o1.creator, None);
    assert_eq!(o1.position, Some(Position { x: 0, y: 520 }));
    assert_eq!(
        (o1.space_id.as_str(), o1.created_at),
        ("s", 1),
        "id, space and creation stay"
    );
    // Unplaced: no position.
    store.create_object(&object("o2", "s")).unwrap();
    let mut o2 = store.object("o2").unwrap().unwrap();
    assert_eq!(o2.position, None);
    o2.position = Some(Position { x: 5, y: 6 });
    store.update_object(&o2).unwrap();
    o2.position = None;
    store.update_object(&o2).unwrap();
    assert_eq!(store.object("o2").unwrap().unwrap().position, None);
}

fn deleting_an_object(b: &dyn Backend) {
    let store = b.open();
    store.create_space(&space("s")).unwrap();
    store.create_object(&object("o1", "s")).unwrap();
    store.create_object(&object("o2", "s")).unwrap();
    append_all(
        &*store,
        "o1",
        (1..=3).map(|i| entry(i, "u1", None, "m")).collect(),
    );
    append_all(&*store, "o2", vec![entry(1, "u1", None, "kept")]);
    let (tx, rx) = mpsc::channel();
    store.save_data(
        "o1",
        Save {
            json: r#"{"a":1}"#.into(),
            updated_at: 1,
            log: None,
            at_version: None,
            id: Some(RememberedId {
                user: "u1".into(),
                id: "m1".into(),
                seq: Some(3),
                reply: None,
                at_ms: 1_000,
            }),
        },
        Box::new(move |r| tx.send(r).unwrap()),
    );
    rx.recv_timeout(Duration::from_secs(20)).unwrap().unwrap();
    let removal = store.delete_object("o1").unwrap();
    assert_eq!(
        removal,
        ObjectRemoval {
            log_entries: 3,
            saved_data: true
        }
    );
    assert_eq!(store.object("o1").unwrap(), None);
    assert_eq!(store.load_data("o1").unwrap(), None);
    assert_eq!(store.log_bounds("o1").unwrap(), None);
    assert_eq!(store.last_seq("o1").unwrap(), 0);
    assert_eq!(store.remembered_ids("o1", 0).unwrap(), vec![]);
    assert!(!store.logged_objects().unwrap().contains(&"o1".to_owned()));
    // The other object keeps everything.
    assert_eq!(store.log_bounds("o2").unwrap(), Some((1, 1)));
    assert!(matches!(
        store.delete_object("o1"),
        Err(StoreError::Missing(_))
    ));
    // The id may be used again, from scratch.
    store.create_object(&object("o1", "s")).unwrap();
    assert_eq!(store.load_data("o1").unwrap(), None);
}

fn spaces_are_edited(b: &dyn Backend) {
    {
        let store = b.open();
        store.create_space(&space("s")).unwrap();
        store.create_space(&space("t")).unwrap();
        let mut renamed = space("s");
        renamed.name = "Renamed".into();
        renamed.settings = SpaceSettings {
            create_dynamic: CreateDynamic::Owners,
            plugin_origins: vec!["https://plugins.example.com".into()],
        };
        store.update_space(&renamed).unwrap();
        assert!(matches!(
            store.update_space(&space("nope")),
            Err(StoreError::Missing(_))
        ));
        store.create_object(&object("o1", "s")).unwrap();
        store.create_object(&object("o2", "s")).unwrap();
        store.create_object(&object("o3", "t")).unwrap();
        append_all(&*store, "o1", vec![entry(1, "u1", None, "m")]);
    }
    let store = b.open();
    let s = store.space("s").unwrap().unwrap();
    assert_eq!(s.name, "Renamed");
    assert_eq!(s.settings.create_dynamic, CreateDynamic::Owners);
    assert_eq!(
        s.settings.plugin_origins,
        vec!["https://plugins.example.com"]
    );
    assert_eq!(store.space("nope").unwrap(), None);
    assert_eq!(store.delete_space("s").unwrap(), vec!["o1", "o2"]);
    assert_eq!(store.space("s").unwrap(), None);
    assert_eq!(store.objects(Some("s")).unwrap(), vec![]);
    assert_eq!(store.log_bounds("o1").unwrap(), None);
    assert_eq!(
        store.objects(None).unwrap().len(),
        1,
        "space t keeps its object"
    );
    assert!(matches!(
        store.delete_space("s"),
        Err(StoreError::Missing(_))
    ));
    assert_eq!(store.spaces().unwrap(), vec![space("t")]);
}

/// A cluster's saves carry their stream sequence as the version: whatever order they
/// commit in, the document kept is the one with the highest.
fn saves_at_versions(b: &dyn Backend) {
    let store = b.open();
    let save = |json: &str, v: u64| {
        let (tx, rx) = mpsc::channel();
        store.save_data(
            "o1",
            Save {
                json: json.into(),
                updated_at: v as i64,
                log: None,
                id: None,
                at_version: Some(v),
            },
            Box::new(move |r| tx.send(r).unwrap()),
        );
        rx.recv_timeout(Duration::from_secs(20)).unwrap()
    };
    assert_eq!(save("{\"v\":20}", 20), Ok(20));
    // Committed later, ordered earlier: answered, but it does not replace version 20.
    assert_eq!(save("{\"v\":12}", 12), Ok(12));
    // The same save again (a resend): nothing changes.
    assert_eq!(save("{\"v\":20}", 20), Ok(20));
    let doc = store.load_data("o1").unwrap().unwrap();
    assert_eq!((doc.json.as_str(), doc.version), ("{\"v\":20}", 20));
    assert_eq!(save("{\"v\":31}", 31), Ok(31));
    let doc = store.load_data("o1").unwrap().unwrap();
    assert_eq!((doc.json.as_str(), doc.version), ("{\"v\":31}", 31));
}

fn revocations_persist(b: &dyn Backend) {
    let revoked = |kind, value: &str, at| Revocation {
        kind,
        value: value.into(),
        at,
        reason: format!("test {at}"),
    };
    {
        let store = b.open();
        assert_eq!(store.revocations().unwrap(), vec![]);
        store
            .revoke(&revoked(RevocationKind::Jti, "j1", 10))
            .unwrap();
        store
            .revoke(&revoked(RevocationKind::Sub, "u1", 20))
            .unwrap();
        // Again, later: the moment moves forward; earlier: it stays.
        store
            .revoke(&revoked(RevocationKind::Sub, "u1", 30))
            .unwrap();
        store
            .revoke(&revoked(RevocationKind::Sub, "u1", 5))
            .unwrap();
    }
    let store = b.open();
    let list = store.revocations().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0], revoked(RevocationKind::Jti, "j1", 10));
    assert_eq!(
        (list[1].kind, list[1].value.as_str(), list[1].at),
        (RevocationKind::Sub, "u1", 30)
    );
}

fn space(id: &str) -> SpaceDef {
    SpaceDef {
        id: id.into(),
        name: id.to_uppercase(),
        created_at: 1,
        settings: SpaceSettings::default(),
    }
}

fn object(id: &str, space: &str) -> ObjectDef {
    ObjectDef {
        id: id.into(),
        space_id: space.into(),
        name: id.into(),
        object_type: ObjectType::Dynamic,
        plugin_url: "/plugins/notes/".into(),
        settings: ObjectSettings {
            share_email: true,
            ..ObjectSettings::default()
        },
        creator: Some("u1".into()),
        created_at: 1,
        position: None,
    }
}

fn entry(seq: u64, sender: &str, to: Option<&str>, text: &str) -> LogEntry {
    LogEntry {
        seq,
        at_ms: 1_000 + seq as i64,
        sender: sender.into(),
        to: to.map(Into::into),
        frame: format!(r#"{{"op":"plugin","object":"o","seq":{seq},"message":"{text}"}}"#),
    }
}

/// Appends and waits for every commit.
fn append_all(store: &dyn Store, object: &str, entries: Vec<LogEntry>) {
    let (tx, rx) = mpsc::channel();
    let n = entries.len();
    for e in entries {
        let tx = tx.clone();
        store.append(object, e, None, Box::new(move |r| tx.send(r).unwrap()));
    }
    for _ in 0..n {
        rx.recv_timeout(Duration::from_secs(20)).unwrap().unwrap();
    }
}

fn seqs(page: &LogPage) -> Vec<u64> {
    page.entries.iter().map(|e| e.seq).collect()
}

fn spaces_objects_and_settings_persist(b: &dyn Backend) {
    {
        let store = b.open();
        store.check().unwrap();
        store.create_space(&space("s")).unwrap();
        assert!(matches!(
            store.create_space(&space("s")),
            Err(StoreError::Conflict(_))
        ));
        store.create_space(&space("t")).unwrap();
        store.create_object(&object("o1", "s")).unwrap();
        store.create_object(&object("o2", "t")).unwrap();
        assert!(matches!(
            store.create_object(&object("o1", "s")),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.create_object(&object("o3", "nope")),
            Err(StoreError::Missing(_))
        ));
        let settings = ObjectSettings {
            share_email: false,
            retention: Some(Retention {
                max_messages: Some(100_000),
                max_age_secs: Some(30 * 86_400),
                max_bytes: None,
            }),
            ..ObjectSettings::default()
        };
        store.update_settings("o1", &settings).unwrap();
        assert!(matches!(
            store.update_settings("nope", &settings),
            Err(StoreError::Missing(_))
        ));
    }
    let store = b.open();
    assert_eq!(store.spaces().unwrap(), vec![space("s"), space("t")]);
    assert_eq!(store.objects(None).unwrap().len(), 2);
    let o1 = store.object("o1").unwrap().unwrap();
    assert_eq!(store.objects(Some("s")).unwrap(), vec![o1.clone()]);
    assert!(!o1.settings.share_email);
    let limits = Retention::resolve(
        o1.settings.retention.as_ref(),
        RetentionLimits {
            max_messages: 1000,
            max_age_secs: 600,
            max_bytes: 1 << 20,
        },
    );
    assert_eq!(
        (limits.max_messages, limits.max_age_secs, limits.max_bytes),
        (100_000, 30 * 86_400, 1 << 20)
    );
    assert_eq!(store.object("o9").unwrap(), None);
}

fn saves_commit_in_order(b: &dyn Backend) {
    {
        let store = b.open();
        let (tx, rx) = mpsc::channel();
        for i in 0..50 {
            let tx = tx.clone();
            let log = (i == 49).then(|| entry(7, "u1", None, "shared"));
            let id = (i == 49).then(|| RememberedId {
                user: "u1".into(),
                id: "save-49".into(),
                seq: None,
                reply: Some("{\"saved\":49}".into()),
                at_ms: 5,
            });
            store.save_data(
                "o1",
                Save {
                    json: format!("{{\"n\":{i}}}"),
                    updated_at: 10 + i,
                    log,
                    id,
                    at_version: None,
                },
                Box::new(move |r| tx.send((i, r)).unwrap()),
            );
        }
        let got: Vec<_> = (0..50)
            .map(|_| rx.recv_timeout(Duration::from_secs(20)).unwrap())
            .collect();
        let want: Vec<_> = (0..50).map(|i| (i, Ok(i as u64 + 1))).collect();
        assert_eq!(got, want, "in submission order, versions in commit order");
    }
    let store = b.open();
    assert_eq!(
        store.load_data("o1").unwrap(),
        Some(SavedDoc {
            json: "{\"n\":49}".into(),
            updated_at: 59,
            version: 50
        })
    );
    assert_eq!(store.load_data("o9").unwrap(), None);
    // The save's announcement went into the log with it, and its id is remembered.
    assert_eq!(store.last_seq("o1").unwrap(), 7);
    let ids = store.remembered_ids("o1", 0).unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].reply.as_deref(), Some("{\"saved\":49}"));
}

fn log_is_durable(b: &dyn Backend) {
    {
        let store = b.open();
        assert_eq!(store.last_seq("o").unwrap(), 0);
        assert_eq!(store.log_bounds("o").unwrap(), None);
        append_all(
            &*store,
            "o",
            (1..=100).map(|s| entry(s, "a", None, "x")).collect(),
        );
        // A redelivery of a logged seq changes nothing.
        append_all(&*store, "o", vec![entry(100, "z", None, "again")]);
    }
    let store = b.open();
    assert_eq!(store.last_seq("o").unwrap(), 100);
    assert_eq!(store.log_bounds("o").unwrap(), Some((1, 100)));
    let page = store.read_log("o", &LogQuery::after(95, 100)).unwrap();
    assert_eq!(seqs(&page), [96, 97, 98, 99, 100]);
    assert_eq!(page.entries[4].sender, "a");
    assert_eq!(store.logged_objects().unwrap(), ["o"]);
}

fn log_reads_page(b: &dyn Backend) {
    let store = b.open();
    // 1 a→all, 2 a→b, 3 b→all, 4 c→b, 5 b→a, 6 a→all
    append_all(
        &*store,
        "o",
        vec![
            entry(1, "a", None, "1"),
            entry(2, "a", Some("b"), "2"),
            entry(3, "b", None, "3"),
            entry(4, "c", Some("b"), "4"),
            entry(5, "b", Some("a"), "5"),
            entry(6, "a", None, "6"),
        ],
    );
    let q = |after, before, limit, backward, viewer: Option<(&str, bool)>| LogQuery {
        after,
        before,
        limit,
        backward,
        viewer: viewer.map(|(u, own)| (u.to_owned(), own)),
    };
    // A resume for `a`: what was sent to a, not what a sent.
    let p = store
        .read_log("o", &q(0, u64::MAX, 10, false, Some(("a", false))))
        .unwrap();
    assert_eq!((seqs(&p), p.cut), (vec![3, 5], false));
    // History for `a`: its own too.
    let p = store
        .read_log("o", &q(0, u64::MAX, 10, false, Some(("a", true))))
        .unwrap();
    assert_eq!(seqs(&p), [1, 2, 3, 5, 6]);
    let p = store
        .read_log("o", &q(0, u64::MAX, 2, false, Some(("a", true))))
        .unwrap();
    assert_eq!((seqs(&p), p.cut), (vec![1, 2], true));
    // Backward: the newest of the range, oldest first.
    let p = store
        .read_log("o", &q(0, u64::MAX, 2, true, Some(("a", true))))
        .unwrap();
    assert_eq!((seqs(&p), p.cut), (vec![5, 6], true));
    let p = store
        .read_log("o", &q(0, 5, 2, true, Some(("a", true))))
        .unwrap();
    assert_eq!((seqs(&p), p.cut), (vec![2, 3], true));
    let p = store
        .read_log("o", &q(0, 2, 2, true, Some(("a", true))))
        .unwrap();
    assert_eq!((seqs(&p), p.cut), (vec![1], false));
    // `b` sees the emit of `c` to b, `c` does not see a→b.
    let p = store
        .read_log("o", &q(0, u64::MAX, 10, false, Some(("c", false))))
        .unwrap();
    assert_eq!(seqs(&p), [1, 3, 6]);
    let p = store
        .read_log("o", &q(1, 6, 10, false, Some(("b", false))))
        .unwrap();
    assert_eq!(seqs(&p), [2, 4]);
    // No viewer: everything.
    let p = store
        .read_log("o", &q(0, u64::MAX, 10, true, None))
        .unwrap();
    assert_eq!(seqs(&p), [1, 2, 3, 4, 5, 6]);
}

fn retention_prunes(b: &dyn Backend) {
    let store = b.open();
    let limits = |m, a, by| RetentionLimits {
        max_messages: m,
        max_age_secs: a,
        max_bytes: by,
    };
    // at_ms = 1000 + seq.
    append_all(
        &*store,
        "o",
        (1..=50).map(|s| entry(s, "a", None, "x")).collect(),
    );
    // By count, 10 rows per batch: 40 go in 4 passes.
    let mut gone = 0;
    let mut passes = 0;
    loop {
        let n = store
            .prune_log("o", &limits(10, 3600, u64::MAX), 2_000, 10)
            .unwrap();
        if n == 0 {
            break;
        }
        gone += n;
        passes += 1;
    }
    assert_eq!((gone, passes), (40, 4));
    assert_eq!(store.log_bounds("o").unwrap(), Some((41, 50)));
    // By bytes: each frame is the same size; keep what fits in three.
    let size = entry(41, "a", None, "x").frame.len() as u64;
    assert_eq!(
        store
            .prune_log("o", &limits(100, 3600, 3 * size + 1), 2_000, 1000)
            .unwrap(),
        7
    );
    assert_eq!(store.log_bounds("o").unwrap(), Some((48, 50)));
    // By age: older than 1 s at now = 2049 ms is seq <= 48.
    assert_eq!(
        store
            .prune_log("o", &limits(100, 1, u64::MAX), 2_049, 1000)
            .unwrap(),
        1
    );
    assert_eq!(store.log_bounds("o").unwrap(), Some((49, 50)));
    // Everything may go; the numbering does not restart.
    store
        .prune_log("o", &limits(0, 3600, u64::MAX), 2_049, 1000)
        .unwrap();
    assert_eq!(store.log_bounds("o").unwrap(), None);
    assert_eq!(store.last_seq("o").unwrap(), 50);
}

fn remembered_ids(b: &dyn Backend) {
    {
        let store = b.open();
        let (tx, rx) = mpsc::channel();
        for (i, at) in [(1u64, 100i64), (2, 200), (3, 300)] {
            let tx = tx.clone();
            store.append(
                "o",
                entry(i, "a", None, "m"),
                Some(RememberedId {
                    user: "a".into(),
                    id: format!("page-{i}"),
                    seq: Some(i),
                    reply: None,
                    at_ms: at,
                }),
                Box::new(move |r| tx.send(r).unwrap()),
            );
        }
        for _ in 0..3 {
            rx.recv_timeout(Duration::from_secs(20)).unwrap().unwrap();
        }
    }
    let store = b.open();
    let ids = store.remembered_ids("o", 150).unwrap();
    let got: Vec<(&str, Option<u64>)> = ids.iter().map(|i| (i.id.as_str(), i.seq)).collect();
    assert_eq!(got, [("page-2", Some(2)), ("page-3", Some(3))]);
    assert_eq!(store.forget_ids(250).unwrap(), 2);
    assert_eq!(store.remembered_ids("o", 0).unwrap().len(), 1);
    assert!(store.remembered_ids("other", 0).unwrap().is_empty());
}

fn concurrent_appends(b: &dyn Backend) {
    let store: Arc<dyn Store> = Arc::from(b.open());
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                append_all(
                    &*store,
                    &format!("o{}", t % 2),
                    (1..=200)
                        .map(|i| entry(t * 1000 + i, "a", None, "m"))
                        .collect(),
                )
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let all = |o: &str| {
        store
            .read_log(o, &LogQuery::after(0, 10_000))
            .unwrap()
            .entries
            .len()
    };
    assert_eq!(all("o0") + all("o1"), 1600);
    assert_eq!(store.last_seq("o1").unwrap(), 7200);
}

fn text_is_exact(b: &dyn Backend) {
    let store = b.open();
    let frame = "{\"op\":\"plugin\",\"seq\":1,\"message\":{\"z\":1,  \"a\":\"β 山田 ✓\\u0000\"}}";
    append_all(
        &*store,
        "o",
        vec![LogEntry {
            seq: 1,
            at_ms: 1,
            sender: "dev-山田".into(),
            to: None,
            frame: frame.into(),
        }],
    );
    let p = store.read_log("o", &LogQuery::after(0, 1)).unwrap();
    assert_eq!(p.entries[0].frame, frame);
    assert_eq!(p.entries[0].sender, "dev-山田");
}

#[test]
fn a_second_exclusive_store_on_a_schema_is_refused_postgres() {
    let pg = postgres();
    let first = PgStore::connect_exclusive(&pg.url, &pg.schema).expect("PostgreSQL answers");
    let started = std::time::Instant::now();
    let Err(StoreError::Backend(message)) = PgStore::connect_exclusive(&pg.url, &pg.schema) else {
        panic!("two nodes on one schema")
    };
    assert!(message.contains("another meetbridge node"), "{message}");
    assert!(started.elapsed() >= Duration::from_secs(9));
    // Shared access (tests, offline tools) is not locked out.
    PgStore::connect(&pg.url, &pg.schema)
        .unwrap()
        .check()
        .unwrap();
    drop(first);
    // Once the first is gone, a new one gets the lock.
    let again = PgStore::connect_exclusive(&pg.url, &pg.schema).unwrap();
    again.check().unwrap();
}

#[test]
fn an_unreachable_postgres_is_named_in_the_error() {
    let Err(StoreError::Backend(message)) =
        PgStore::connect("postgres://someone:pw@127.0.0.1:1/test", "meetbridge")
    else {
        panic!("connected to port 1?")
    };
    assert!(
        message.contains("postgres://someone:***@127.0.0.1:1/test"),
        "{message}"
    );
    assert!(!message.contains("pw@"), "{message}");
}

/// Creations fired at once through two stores on one database (two servers of a cluster)
/// stop exactly at the quotas: the space's, the floor object not counted, then the
/// creator's.
fn quotas_are_atomic(b: &dyn Backend) {
    let stores: [Arc<dyn Store>; 2] = [Arc::from(b.open()), Arc::from(b.open())];
    stores[0].create_space(&space("s")).unwrap();
    let mut floor = object("floor", "s");
    floor.plugin_url = "meetbridge:floor".into();
    floor.creator = None;
    stores[0].create_object(&floor).unwrap();
    let fire = |prefix: &str, creator: &str, quota: ObjectQuota| -> Vec<Result<(), QuotaFull>> {
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let store = stores[i % 2].clone();
                let quota = quota.clone();
                let mut o = object(&format!("{prefix}{i}"), "s");
                o.creator = Some(creator.into());
                std::thread::spawn(move || store.create_object_within(&o, &quota).unwrap())
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    };
    let count = |results: &[Result<(), QuotaFull>], what: Result<(), QuotaFull>| {
        results.iter().filter(|r| **r == what).count()
    };

    // The creator's quota: 3 of u1's 16 go in, the others are refused at 3.
    let quota = ObjectQuota {
        per_space: 7,
        uncounted_url: "meetbridge:floor".into(),
        per_creator: Some(3),
    };
    let results = fire("a", "u1", quota.clone());
    assert_eq!(count(&results, Ok(())), 3, "{results:?}");
    assert_eq!(
        count(&results, Err(QuotaFull::Creator(3))),
        13,
        "{results:?}"
    );

    // The space's: 4 more of another creator's (7 counted, the floor object aside).
    let quota = ObjectQuota {
        per_creator: Some(16),
        ..quota
    };
    let results = fire("b", "u2", quota);
    assert_eq!(count(&results, Ok(())), 4, "{results:?}");
    assert_eq!(count(&results, Err(QuotaFull::Space(7))), 12, "{results:?}");
    let objects = stores[1].objects(Some("s")).unwrap();
    assert_eq!(objects.len(), 8, "7 counted and the floor object");

    // Without a creator's bound (an admin), only the space's applies.
    let admin = ObjectQuota {
        per_space: 8,
        uncounted_url: "meetbridge:floor".into(),
        per_creator: None,
    };
    let results = fire("c", "u1", admin);
    assert_eq!(count(&results, Ok(())), 1, "{results:?}");
    assert_eq!(stores[0].objects(Some("s")).unwrap().len(), 9);
}
