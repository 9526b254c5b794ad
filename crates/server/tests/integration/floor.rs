//! The floor over real HTTP and sockets: positions stored on the server, edits and
//! deletions told live to every page of the space (`floor` frames), who may create
//! meetings (the space's `createDynamic`), the quotas, the plugin origin allow-list, the
//! sandbox narrowing, presence, and refusals that name the field.

use meetbridge_server::auth::token::Role;
use serde_json::{json, Value};

use crate::common::*;

const ADMIN: (&str, &str) = ("Authorization", "Bearer test-admin-key");

async fn admin(s: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    s.http_json(method, path, &[ADMIN], body).await
}

async fn as_token(
    s: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    s.http_json(method, path, &[("Authorization", &auth)], body)
        .await
}

/// Space "s" with the given settings, made through the admin API.
async fn space_s(s: &TestServer, settings: Value) {
    let (status, body) = admin(
        s,
        "POST",
        "/api/admin/spaces",
        Some(json!({"id": "s", "name": "S", "settings": settings})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// Object `body` created in space "s" through the admin API (201 asserted); the object
/// as created.
async fn object_in_s(s: &TestServer, body: Value) -> Value {
    let (status, created) = admin(s, "POST", "/api/admin/spaces/s/objects", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

/// The next `floor` frame on `client` (other frames are skipped).
async fn next_floor(client: &mut Client) -> Value {
    loop {
        let f = client.recv().await;
        if f["op"] == "floor" {
            return f;
        }
    }
}

fn field(body: &Value) -> &str {
    body["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn positions_are_stored_and_every_change_reaches_the_pages_live() {
    floor_follows_changes(|_| {}).await;
}

#[tokio::test]
async fn positions_are_stored_and_every_change_reaches_the_pages_live_postgres() {
    let pg = PgSchema::new();
    floor_follows_changes(pg.apply()).await;
    pg.drop_schema().await;
}

async fn floor_follows_changes(backend: impl Fn(&mut meetbridge_server::config::ServeConfig)) {
    let mut s = start_with(backend).await;
    space_s(&s, json!({})).await;
    // Two pages of the space, one of another space.
    let mut a = s.client("a").await;
    let mut b = s.client("b").await;
    let mut other = Client::connect(s.addr, &s.token_as("c", Role::Member, Some("t"))).await;

    let created = object_in_s(&s, json!({"id": "o1", "name": "Notes", "pluginUrl": "/plugins/notes/", "position": {"x": 100, "y": 200}})).await;
    assert_eq!(created["position"], json!({"x": 100, "y": 200}));
    for page in [&mut a, &mut b] {
        let f = next_floor(page).await;
        assert_eq!(f["change"], "added", "{f}");
        assert_eq!(f["space"], "s");
        assert_eq!(f["object"]["id"], "o1");
        assert_eq!(f["object"]["position"], json!({"x": 100, "y": 200}));
    }

    // Dragged on the floor: everyone sees the new place; the server keeps it.
    let (status, moved) = admin(
        &s,
        "PATCH",
        "/api/admin/spaces/s/objects/o1",
        Some(json!({"position": {"x": 300, "y": 40}})),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["name"], "Notes", "what the patch leaves out stays");
    for page in [&mut a, &mut b] {
        let f = next_floor(page).await;
        assert_eq!(f["change"], "updated");
        assert_eq!(f["object"]["position"], json!({"x": 300, "y": 40}));
    }
    let token = s.token("a");
    let (status, view) = as_token(&s, &token, "GET", "/api/spaces/s", None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["space"]["id"], "s");
    assert_eq!(view["mayCreateDynamic"], true);
    assert_eq!(view["objects"][0]["position"], json!({"x": 300, "y": 40}));

    // A participant's meeting appears on every page too.
    let (status, meeting) = as_token(
        &s,
        &token,
        "POST",
        "/api/spaces/s/objects",
        Some(json!({"id": "m1", "name": "Standup", "pluginUrl": "/plugins/chat/"})),
    )
    .await;
    assert_eq!(status, 201, "{meeting}");
    assert_eq!(meeting["objectType"], "dynamic");
    let f = next_floor(&mut b).await;
    assert_eq!(
        (f["change"].as_str(), f["object"]["id"].as_str()),
        (Some("added"), Some("m1"))
    );
    next_floor(&mut a).await;

    // Deleted: gone for everyone, and the socket no longer knows it.
    a.presence("o1", "subscribed").await;
    let (status, gone) = admin(&s, "DELETE", "/api/admin/spaces/s/objects/o1", None).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["object"], "o1");
    for page in [&mut a, &mut b] {
        let f = next_floor(page).await;
        assert_eq!(
            f,
            json!({"op": "floor", "change": "removed", "space": "s", "id": "o1"})
        );
    }
    let answer = b
        .request(json!({"op": "presence", "object": "o1", "status": "subscribed"}))
        .await;
    assert_eq!(
        answer.last().unwrap()["code"],
        "unknown_object",
        "{answer:?}"
    );
    let (status, _) = as_token(&s, &token, "GET", "/api/spaces/s/objects/o1", None).await;
    assert_eq!(status, 404);
    let (status, m1) = as_token(&s, &token, "GET", "/api/spaces/s/objects/m1", None).await;
    assert_eq!((status, m1["name"].as_str()), (200, Some("Standup")));

    // The other space heard none of it.
    other.assert_quiet().await;
    // A closed socket follows nothing any more.
    assert_eq!(s.hub().floors.followers("s"), 2);
    drop(a);
    drop(b);
    let deadline = tokio::time::Instant::now() + WAIT;
    while s.hub().floors.followers("s") > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "closed sockets still follow the floor"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn the_space_decides_who_creates_meetings() {
    let mut s = start().await;
    space_s(&s, json!({"createDynamic": "owners"})).await;
    let member = s.token("m");
    let owner = s.token_as("boss", Role::Owner, Some("s"));
    let visitor = s.token_as("v", Role::Visitor, Some("s"));
    let meeting = |id: &str| json!({"id": id, "pluginUrl": "/plugins/chat/"});

    let (status, refused) = as_token(
        &s,
        &member,
        "POST",
        "/api/spaces/s/objects",
        Some(meeting("m1")),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"], "create_not_allowed");
    assert!(
        refused["message"].as_str().unwrap().contains("owners"),
        "{refused}"
    );
    let (_, view) = as_token(&s, &member, "GET", "/api/spaces/s", None).await;
    assert_eq!(view["mayCreateDynamic"], false);
    // Nothing was created: the meeting page may say it does not exist.
    let (status, missing) = as_token(&s, &member, "GET", "/api/spaces/s/objects/m1", None).await;
    assert_eq!(
        (status, missing["error"].as_str()),
        (404, Some("not_found"))
    );

    let (status, created) = as_token(
        &s,
        &owner,
        "POST",
        "/api/spaces/s/objects",
        Some(meeting("m1")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["creator"], "boss");
    // Once it exists, a member who opens it is told it exists (409), as the meeting page
    // expects, not that they may not create it.
    let (status, body) = as_token(
        &s,
        &member,
        "POST",
        "/api/spaces/s/objects",
        Some(meeting("m1")),
    )
    .await;
    assert_eq!((status, field(&body)), (409, "id"), "{body}");

    // A meeting keeps its history as the server says; its owner may change that later.
    let (status, refused) = as_token(
        &s,
        &owner,
        "POST",
        "/api/spaces/s/objects",
        Some(json!({"id": "m9", "pluginUrl": "/plugins/chat/", "settings": {"retention": {"maxAgeSecs": 999999999}}})),
    )
    .await;
    assert_eq!(
        (status, field(&refused)),
        (403, "settings.retention"),
        "{refused}"
    );
    let (status, _) = as_token(&s, &owner, "GET", "/api/spaces/s/objects/m9", None).await;
    assert_eq!(status, 404, "nothing was created");

    let (status, refused) = as_token(
        &s,
        &visitor,
        "POST",
        "/api/spaces/s/objects",
        Some(meeting("m2")),
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("create_not_allowed"))
    );

    // The floor object is no meeting: any member may create the space's one.
    let floor = json!({"id": "s-floor", "name": "Floor", "pluginUrl": "meetbridge:floor"});
    let (status, body) = as_token(
        &s,
        &member,
        "POST",
        "/api/spaces/s/objects",
        Some(floor.clone()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = as_token(
        &s,
        &member,
        "POST",
        "/api/spaces/s/objects",
        Some(json!({"id": "second-floor", "pluginUrl": "meetbridge:floor"})),
    )
    .await;
    assert_eq!((status, field(&body)), (409, "pluginUrl"), "{body}");

    // Admins only: the owner may no longer.
    let (status, _) = admin(
        &s,
        "PATCH",
        "/api/admin/spaces/s",
        Some(json!({"settings": {"createDynamic": "admins"}})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = as_token(
        &s,
        &owner,
        "POST",
        "/api/spaces/s/objects",
        Some(meeting("m3")),
    )
    .await;
    assert_eq!(status, 403);
    s.stop().await;
}

#[tokio::test]
async fn quotas_bound_objects_per_space_and_meetings_per_participant() {
    let mut s = start_with(|c| {
        c.limits.max_objects_per_space = 3;
        c.limits.max_dynamic_per_participant = 2;
    })
    .await;
    space_s(&s, json!({})).await;
    let token = s.token("a");
    for id in ["m1", "m2"] {
        let (status, body) = as_token(
            &s,
            &token,
            "POST",
            "/api/spaces/s/objects",
            Some(json!({"id": id, "pluginUrl": "/plugins/chat/"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = as_token(
        &s,
        &token,
        "POST",
        "/api/spaces/s/objects",
        Some(json!({"id": "m3", "pluginUrl": "/plugins/chat/"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("quota_exceeded")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-dynamic-per-participant 2"),
        "{body}"
    );
    // Another participant still may, up to the space's quota.
    let (status, _) = as_token(
        &s,
        &s.token("b"),
        "POST",
        "/api/spaces/s/objects",
        Some(json!({"id": "b1", "pluginUrl": "/plugins/chat/"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = admin(
        &s,
        "POST",
        "/api/admin/spaces/s/objects",
        Some(json!({"id": "o4", "pluginUrl": "/plugins/notes/"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("quota_exceeded")),
        "{body}"
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("--max-objects-per-space 3"));
    // Deleting frees a place.
    let (status, _) = admin(&s, "DELETE", "/api/admin/spaces/s/objects/m1", None).await;
    assert_eq!(status, 200);
    let (status, _) = as_token(
        &s,
        &token,
        "POST",
        "/api/spaces/s/objects",
        Some(json!({"id": "m3", "pluginUrl": "/plugins/chat/"})),
    )
    .await;
    assert_eq!(status, 201);
    s.stop().await;
}

#[tokio::test]
async fn edits_are_checked_and_refusals_name_the_field() {
    let mut s = start().await;
    space_s(&s, json!({})).await;
    object_in_s(&s, json!({"id": "o1", "pluginUrl": "/plugins/notes/"})).await;
    let refusals = [
        (json!({"position": {"x": 761, "y": 0}}), "position.x"),
        (json!({"position": {"x": -1, "y": 0}}), "position.x"),
        (json!({"position": {"x": 1}}), "position.y"),
        (json!({"pluginUrl": "javascript:alert(1)"}), "pluginUrl"),
        (json!({"name": ""}), "name"),
        (
            json!({"settings": {"sandbox": ["allow-scripts", "allow-top-navigation"]}}),
            "settings.sandbox[1]",
        ),
        (
            json!({"settings": {"allow": ["camera"]}}),
            "settings.allow[0]",
        ),
        (
            json!({"settings": {"retention": {"maxMessages": "many"}}}),
            "settings.retention.maxMessages",
        ),
        (json!({"colour": "red"}), "colour"),
        (json!({"type": "floating"}), "type"),
    ];
    for (patch, named) in refusals {
        let (status, body) = admin(
            &s,
            "PATCH",
            "/api/admin/spaces/s/objects/o1",
            Some(patch.clone()),
        )
        .await;
        assert_eq!(status, 400, "{patch} → {body}");
        assert_eq!(body["error"], "bad_request");
        assert_eq!(field(&body), named, "{patch} → {body}");
        assert!(body["message"].as_str().unwrap().contains(named), "{body}");
    }
    // Nothing of the refused edits stuck.
    let (_, objects) = admin(&s, "GET", "/api/admin/spaces/s/objects", None).await;
    assert_eq!(objects[0]["name"], "o1");
    assert!(objects[0].get("position").is_none());

    // A good edit of everything at once.
    let (status, edited) = admin(
        &s,
        "PATCH",
        "/api/admin/spaces/s/objects/o1",
        Some(json!({
            "name": "Shared notes", "type": "dynamic", "creator": "u9",
            "pluginUrl": "https://plugins.example.com/notes/",
            "settings": {"shareEmail": true, "retention": {"maxMessages": 10},
                         "sandbox": ["allow-scripts", "allow-modals"], "allow": ["clipboard-write"]}
        })),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["objectType"], "dynamic");
    assert_eq!(
        edited["settings"]["sandbox"],
        json!(["allow-scripts", "allow-modals"])
    );
    // The live room follows: its retention and e-mail sharing are the new ones.
    let room = s.hub().room("o1").unwrap();
    assert_eq!(room.settings().retention.unwrap().max_messages, Some(10));
    assert!(room.settings().share_email);
    let mut c = s.client("u9").await;
    let frames = c.presence("o1", "subscribed").await;
    let me = frames
        .iter()
        .find(|f| f["message"]["type"] == "ovice_participant_subscribed")
        .expect("own subscribed event");
    assert_eq!(me["message"]["payload"]["email"], "u9@example.com");
    assert_eq!(
        me["message"]["payload"]["isHost"], true,
        "the new creator hosts it"
    );
    // Null clears.
    let (status, cleared) = admin(
        &s,
        "PATCH",
        "/api/admin/spaces/s/objects/o1",
        Some(json!({"settings": {"retention": null, "sandbox": null}})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(cleared["settings"].get("retention").is_none(), "{cleared}");
    assert!(cleared["settings"].get("sandbox").is_none());
    assert_eq!(cleared["settings"]["allow"], json!(["clipboard-write"]));

    let (status, body) = admin(
        &s,
        "PATCH",
        "/api/admin/spaces/s/objects/nope",
        Some(json!({})),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    s.stop().await;
}

#[tokio::test]
async fn the_plugin_origin_allow_list_applies_to_new_and_existing_objects() {
    let mut s = start().await;
    space_s(
        &s,
        json!({"pluginOrigins": ["https://plugins.example.com"]}),
    )
    .await;
    let create = |url: &str| json!({"pluginUrl": url});
    let (status, body) = admin(
        &s,
        "POST",
        "/api/admin/spaces/s/objects",
        Some(create("https://evil.example.org/p/")),
    )
    .await;
    assert_eq!((status, field(&body)), (400, "pluginUrl"), "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("allowed plugin origins"));
    object_in_s(
        &s,
        json!({"id": "ok", "pluginUrl": "https://plugins.example.com/p/"}),
    )
    .await;
    // Same-server paths are always allowed.
    object_in_s(&s, create("/plugins/poll/")).await;
    // A list that would shut out an existing object is refused, naming the object.
    let (status, body) = admin(
        &s,
        "PATCH",
        "/api/admin/spaces/s",
        Some(json!({"settings": {"pluginOrigins": ["https://other.example.com"]}})),
    )
    .await;
    assert_eq!(
        (status, field(&body)),
        (400, "settings.pluginOrigins"),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("\"ok\""),
        "{body}"
    );
    let (status, body) = admin(
        &s,
        "PATCH",
        "/api/admin/spaces/s",
        Some(json!({"settings": {"pluginOrigins": ["https://plugins.example.com/path"]}})),
    )
    .await;
    assert_eq!(
        (status, field(&body)),
        (400, "settings.pluginOrigins[0]"),
        "{body}"
    );
    s.stop().await;
}

#[tokio::test]
async fn spaces_are_renamed_and_deleted_and_owners_manage_only_theirs() {
    let mut s = start().await;
    space_s(&s, json!({})).await;
    let (status, _) = admin(
        &s,
        "POST",
        "/api/admin/spaces",
        Some(json!({"id": "t", "name": "T"})),
    )
    .await;
    assert_eq!(status, 201);
    object_in_s(&s, json!({"id": "o1", "pluginUrl": "/plugins/notes/"})).await;
    let owner = s.token_as("boss", Role::Owner, Some("s"));
    let mut page = s.client("a").await;

    let (status, renamed) = as_token(
        &s,
        &owner,
        "PATCH",
        "/api/admin/spaces/s",
        Some(json!({"name": "Studio"})),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Studio");
    let f = next_floor(&mut page).await;
    assert_eq!(
        (f["change"].as_str(), f["def"]["name"].as_str()),
        (Some("space_updated"), Some("Studio"))
    );

    // Not their space, and deleting a space is for admins.
    let (status, body) = as_token(
        &s,
        &owner,
        "PATCH",
        "/api/admin/spaces/t",
        Some(json!({"name": "Mine"})),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    let (status, _) = as_token(&s, &owner, "DELETE", "/api/admin/spaces/s", None).await;
    assert_eq!(status, 403);
    let (status, _) = as_token(&s, &owner, "DELETE", "/api/admin/spaces/s/objects/o1", None).await;
    assert_eq!(status, 200, "an owner deletes objects of their space");

    object_in_s(&s, json!({"id": "o2", "pluginUrl": "/plugins/notes/"})).await;
    let (status, gone) = admin(&s, "DELETE", "/api/admin/spaces/s", None).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone, json!({"space": "s", "objects": 1}));
    loop {
        let f = next_floor(&mut page).await;
        if f["change"] == "space_removed" {
            break;
        }
    }
    assert!(s.hub().room("o2").is_none());
    let (_, spaces) = admin(&s, "GET", "/api/admin/spaces", None).await;
    assert_eq!(spaces.as_array().unwrap().len(), 1);
    let (status, _) = admin(&s, "DELETE", "/api/admin/spaces/s", None).await;
    assert_eq!(status, 404);
    s.stop().await;
}

#[tokio::test]
async fn the_presence_view_says_who_is_where() {
    let mut s = start().await;
    space_s(&s, json!({})).await;
    for id in ["o1", "o2"] {
        object_in_s(&s, json!({"id": id, "pluginUrl": "/plugins/notes/"})).await;
    }
    let _a = s.joined("a", "o1").await;
    let _b = s.present("b", "o1", "subscribed").await;
    let _b2 = s.present("b", "o1", "subscribed").await;
    let (status, view) = admin(&s, "GET", "/api/admin/spaces/s/presence", None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        view,
        json!({"space": "s", "objects": [{"object": "o1", "name": "o1", "participants": [
            {"id": "a", "name": "User a", "status": "joined", "connections": 1},
            {"id": "b", "name": "User b", "status": "subscribed", "connections": 2},
        ]}]})
    );
    let (status, _) = as_token(
        &s,
        &s.token("a"),
        "GET",
        "/api/admin/spaces/s/presence",
        None,
    )
    .await;
    assert_eq!(status, 403, "members do not see the console's view");
    s.stop().await;
}

#[tokio::test]
async fn the_demo_space_is_placed_and_lets_the_dev_login_create_meetings() {
    let mut s = start_with(|c| c.demo = true).await;
    let (status, login) = s
        .http_json("POST", "/api/dev/login", &[], Some(json!({"name": "Bob"})))
        .await;
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();
    let (status, view) = as_token(&s, &token, "GET", "/api/spaces/demo", None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["space"]["settings"]["createDynamic"], "members");
    assert_eq!(view["mayCreateDynamic"], true);
    let objects = view["objects"].as_array().unwrap();
    assert!(objects.len() >= 3);
    for o in objects {
        let p = &o["position"];
        assert!(
            p["x"].as_u64().unwrap() <= 760 && p["y"].as_u64().unwrap() <= 520,
            "{o}"
        );
    }
    let (status, meeting) = as_token(
        &s,
        &token,
        "POST",
        "/api/spaces/demo/objects",
        Some(
            json!({"id": "standup", "name": "Meeting standup", "pluginUrl": "/plugins/chatroom/"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{meeting}");
    assert_eq!(meeting["creator"], login["participant"]["id"]);
    s.stop().await;
}

#[tokio::test]
async fn floor_changes_on_one_node_reach_the_rooms_and_pages_of_the_others_nats() {
    let shared = crate::cluster::Shared::new("floor");
    let mut nodes = shared.nodes(2).await;
    space_s(&nodes[0], json!({})).await;
    let mut far = nodes[1].client("b").await;
    object_in_s(
        &nodes[0],
        json!({"id": "o1", "pluginUrl": "/plugins/notes/", "position": {"x": 10, "y": 20}}),
    )
    .await;
    let f = tokio::time::timeout(std::time::Duration::from_secs(10), next_floor(&mut far))
        .await
        .expect("the other node's page hears of the new object");
    assert_eq!(
        (f["change"].as_str(), f["object"]["id"].as_str()),
        (Some("added"), Some("o1"))
    );

    // The far node has the room loaded; an edit made on the first reaches it.
    far.presence("o1", "subscribed").await;
    assert!(
        !nodes[1]
            .hub()
            .live_room("o1")
            .unwrap()
            .settings()
            .share_email
    );
    let (status, _) = admin(
        &nodes[0],
        "PATCH",
        "/api/admin/spaces/s/objects/o1",
        Some(json!({"settings": {"shareEmail": true}})),
    )
    .await;
    assert_eq!(status, 200);
    let f = next_floor(&mut far).await;
    assert_eq!(f["change"], "updated");
    assert!(
        nodes[1]
            .hub()
            .live_room("o1")
            .unwrap()
            .settings()
            .share_email
    );

    let (status, _) = admin(&nodes[0], "DELETE", "/api/admin/spaces/s/objects/o1", None).await;
    assert_eq!(status, 200);
    let f = next_floor(&mut far).await;
    assert_eq!(f["change"], "removed");
    assert!(nodes[1].hub().live_room("o1").is_none());
    let answer = far
        .request(json!({"op": "presence", "object": "o1", "status": "joined"}))
        .await;
    assert_eq!(
        answer.last().unwrap()["code"],
        "unknown_object",
        "{answer:?}"
    );

    shared.destroy(&nodes[0]).await;
    for n in &mut nodes {
        n.stop().await;
    }
}

/// The presence view asked on one node lists who is present through another: the user
/// joined on the first node, at the object they are on, and a second tab on the asking
/// node counts as one more connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_presence_view_of_any_node_shows_the_whole_cluster_nats() {
    let shared = crate::cluster::Shared::new("floorpresence");
    let mut nodes = shared.nodes(2).await;
    space_s(&nodes[0], json!({})).await;
    for id in ["o1", "o2"] {
        object_in_s(&nodes[0], json!({"id": id, "pluginUrl": "/plugins/notes/"})).await;
    }
    let mut a = nodes[0].joined("a", "o2").await;
    let wanted = json!({"space": "s", "objects": [{"object": "o2", "name": "o2", "participants": [
        {"id": "a", "name": "User a", "status": "joined", "connections": 1},
    ]}]});
    let view = presence_until(&nodes[1], &wanted).await;
    assert_eq!(view, wanted, "node B lists the user joined on node A");

    // A second tab of the same user on node B: one participant, joined, two connections.
    let _a2 = nodes[1].present("a", "o2", "subscribed").await;
    let wanted = json!({"space": "s", "objects": [{"object": "o2", "name": "o2", "participants": [
        {"id": "a", "name": "User a", "status": "joined", "connections": 2},
    ]}]});
    assert_eq!(presence_until(&nodes[1], &wanted).await, wanted);
    assert_eq!(presence_until(&nodes[0], &wanted).await, wanted);

    // The tab on node A goes: node B now shows a only as subscribed there.
    a.presence("o2", "unsubscribed").await;
    let wanted = json!({"space": "s", "objects": [{"object": "o2", "name": "o2", "participants": [
        {"id": "a", "name": "User a", "status": "left", "connections": 1},
    ]}]});
    assert_eq!(presence_until(&nodes[1], &wanted).await, wanted);

    shared.destroy(&nodes[0]).await;
    for n in &mut nodes {
        n.stop().await;
    }
}

/// The presence view of `node`, asked until it is `wanted` (the presence bucket's watcher
/// is asynchronous) or 10 s have passed; the last answer.
async fn presence_until(node: &TestServer, wanted: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, view) = admin(node, "GET", "/api/admin/spaces/s/presence", None).await;
        assert_eq!(status, 200, "{view}");
        if &view == wanted || tokio::time::Instant::now() > deadline {
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Meetings created at the same moment through two nodes stop exactly at the quotas: the
/// store counts and inserts under one lock on the space for the whole cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creations_on_two_nodes_stop_exactly_at_the_quotas_nats() {
    let shared = crate::cluster::Shared::new("floorquota");
    let mut nodes = Vec::new();
    for _ in 0..2 {
        nodes.push(
            start_with(|c| {
                shared.node(c);
                c.limits.max_objects_per_space = 8;
                c.limits.max_dynamic_per_participant = 3;
            })
            .await,
        );
    }
    space_s(&nodes[0], json!({})).await;
    let tokens: Vec<String> = (0..12).map(|i| nodes[0].token(&format!("u{i}"))).collect();
    let fire = |round: &'static str, by: &dyn Fn(usize) -> usize| {
        let requests: Vec<_> = (0..12)
            .map(|i| {
                let node = &nodes[i % 2];
                let token = tokens[by(i)].clone();
                async move {
                    let (status, body) = as_token(
                        node,
                        &token,
                        "POST",
                        "/api/spaces/s/objects",
                        Some(json!({"id": format!("{round}{i}"), "pluginUrl": "/plugins/chat/"})),
                    )
                    .await;
                    (status, body["error"].as_str().map(str::to_owned))
                }
            })
            .collect();
        futures_util::future::join_all(requests)
    };
    let tally = |answers: &[(u16, Option<String>)]| {
        let created = answers.iter().filter(|a| a.0 == 201).count();
        let refused = answers
            .iter()
            .filter(|a| a.0 == 403 && a.1.as_deref() == Some("quota_exceeded"))
            .count();
        (created, refused)
    };

    // One participant, twelve meetings at once: three (--max-dynamic-per-participant).
    let answers = fire("a", &|_| 0).await;
    assert_eq!(tally(&answers), (3, 9), "{answers:?}");
    // Twelve participants at once: five more, up to the space's eight.
    let answers = fire("b", &|i| i).await;
    assert_eq!(tally(&answers), (5, 7), "{answers:?}");
    let (status, objects) = admin(&nodes[1], "GET", "/api/admin/spaces/s/objects", None).await;
    assert_eq!(status, 200);
    assert_eq!(objects.as_array().unwrap().len(), 8, "{objects}");

    shared.destroy(&nodes[0]).await;
    for n in &mut nodes {
        n.stop().await;
    }
}
