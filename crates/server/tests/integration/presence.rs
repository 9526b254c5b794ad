//! Presence: the seed's four statuses, several users, several tabs, e-mail, isHost.

use meetbridge_protocol::ovice::ObjectType;

use crate::common::*;

#[tokio::test]
async fn presence_transitions_reach_every_member_with_is_self_only_on_their_own() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.client("a").await;
    let mut b = s.client("b").await;

    let got = a.presence("o1", "subscribed").await;
    assert_eq!(types(&got), ["ovice_participant_subscribed"]);
    let p = messages(&got)[0]["payload"].clone();
    assert_eq!(p["id"], "a");
    assert_eq!(p["isSelf"], true);
    assert_eq!(p["objectId"], "o1");
    assert_eq!(p["objectType"], "static");
    assert_eq!(p["name"], "User a");
    assert_eq!(p["avatarUrl"], "https://a.example/a.png");
    assert_eq!(p["workspaceId"], "w1");
    assert_eq!(p["language"], "en");
    assert_eq!(p["isVisitor"], false);
    assert_eq!(p["isHost"], false);
    assert!(
        p.get("email").is_none(),
        "e-mail is off on this object: {p}"
    );

    // B approaches: both see it, only B's copy is isSelf.
    let got = b.presence("o1", "subscribed").await;
    assert_eq!(types(&got), ["ovice_participant_subscribed"]);
    assert_eq!(messages(&got)[0]["payload"]["isSelf"], true);
    let seen = a.recv_plugin().await;
    assert_eq!(seen["object"], "o1");
    assert_eq!(seen["message"]["type"], "ovice_participant_subscribed");
    assert_eq!(seen["message"]["payload"]["id"], "b");
    assert_eq!(seen["message"]["payload"]["isSelf"], false);

    // B links, unlinks, moves away.
    for (status, event) in [
        ("joined", "ovice_participant_joined"),
        ("left", "ovice_participant_left"),
        ("unsubscribed", "ovice_participant_unsubscribed"),
    ] {
        let got = b.presence("o1", status).await;
        assert_eq!(types(&got), [event], "{status}");
        assert_eq!(messages(&got)[0]["payload"]["isSelf"], true);
        assert_eq!(messages(&got)[0]["payload"]["status"], status);
        let seen = a.recv_plugin().await;
        assert_eq!(seen["message"]["type"], event);
        assert_eq!(seen["message"]["payload"]["isSelf"], false);
    }
    a.assert_quiet().await;

    // Joining from afar passes through subscribed; moving away while linked through left.
    let got = b.presence("o1", "joined").await;
    assert_eq!(
        types(&got),
        ["ovice_participant_subscribed", "ovice_participant_joined"]
    );
    let got = b.presence("o1", "unsubscribed").await;
    assert_eq!(
        types(&got),
        ["ovice_participant_left", "ovice_participant_unsubscribed"]
    );
    assert_eq!(
        a.recv_types(4).await,
        [
            "ovice_participant_subscribed",
            "ovice_participant_joined",
            "ovice_participant_left",
            "ovice_participant_unsubscribed"
        ]
    );
    // No longer a member: nothing more reaches B.
    a.presence("o1", "joined").await;
    b.assert_quiet().await;
}

#[tokio::test]
async fn get_participants_lists_members_with_status_and_is_self() {
    let s = start().await;
    s.object("o1", ObjectType::Static, true, None);
    let _a = s.joined("a", "o1").await;
    let mut b = s.present("b", "o1", "subscribed").await;
    let mut c = s.joined("c", "o1").await;
    c.presence("o1", "left").await;

    // Not a member: refused.
    let mut d = s.client("d").await;
    let got = d.get_participants("o1").await;
    assert_eq!(got.last().unwrap()["code"], "not_member");

    b.drain().await;
    let got = b.get_participants("o1").await;
    let list = messages(&got)[0].clone();
    assert_eq!(list["type"], "ovice_participants");
    let list = list["payload"].as_array().unwrap().clone();
    let summary: Vec<_> = list
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
                p["isSelf"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("a", "joined", false),
            ("b", "subscribed", true),
            ("c", "left", false)
        ]
    );
    // E-mail is on for this object.
    assert_eq!(list[0]["email"], "a@example.com");
    assert_eq!(got.last().unwrap()["op"], "ack");
}

#[tokio::test]
async fn email_is_given_only_where_the_object_allows_it() {
    let s = start().await;
    s.object("with", ObjectType::Static, true, None);
    s.object("without", ObjectType::Static, false, None);
    let mut a = s.client("a").await;
    let got = a.presence("with", "subscribed").await;
    assert_eq!(messages(&got)[0]["payload"]["email"], "a@example.com");
    let got = a.presence("without", "subscribed").await;
    assert!(messages(&got)[0]["payload"].get("email").is_none());
}

#[tokio::test]
async fn the_creator_of_a_dynamic_object_is_its_host() {
    let s = start().await;
    s.object("dyn", ObjectType::Dynamic, false, Some("a"));
    let mut a = s.client("a").await;
    let mut b = s.client("b").await;
    let got = a.presence("dyn", "joined").await;
    assert_eq!(messages(&got)[0]["payload"]["isHost"], true);
    assert_eq!(messages(&got)[0]["payload"]["objectType"], "dynamic");
    let got = b.presence("dyn", "joined").await;
    assert_eq!(messages(&got)[0]["payload"]["isHost"], false);
}

#[tokio::test]
async fn several_tabs_are_one_participant_and_the_last_one_leaving_unsubscribes() {
    let s = start().await;
    s.static_object("o1");
    s.static_object("o2");
    let mut watcher = s.present("w", "o1", "subscribed").await;
    watcher.presence("o2", "subscribed").await;

    let mut tab1 = s.client("u").await;
    let mut tab2 = s.client("u").await;
    tab1.presence("o1", "joined").await;
    tab1.presence("o2", "subscribed").await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let f = watcher.recv_plugin().await;
        seen.push((
            f["object"].as_str().unwrap().to_owned(),
            f["message"]["type"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        seen,
        [
            ("o1".to_owned(), "ovice_participant_subscribed".to_owned()),
            ("o1".to_owned(), "ovice_participant_joined".to_owned()),
            ("o2".to_owned(), "ovice_participant_subscribed".to_owned()),
        ]
    );
    // The second tab comes to o1: the user is already joined there, so nobody else hears
    // of it; the tab itself learns where its user stands.
    let got = tab2.presence("o1", "subscribed").await;
    assert_eq!(types(&got), ["ovice_participant_joined"]);
    assert_eq!(messages(&got)[0]["payload"]["isSelf"], true);
    watcher.assert_quiet().await;
    let got = watcher.get_participants("o1").await;
    assert_eq!(messages(&got)[0]["payload"].as_array().unwrap().len(), 2);

    // Tab 1 (the linked one) closes: u is left on o1 (tab 2 is in range) and gone from o2.
    drop(tab1);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let f = watcher.recv_plugin().await;
        seen.push(format!(
            "{} {}",
            f["object"].as_str().unwrap(),
            f["message"]["type"].as_str().unwrap()
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "o1 ovice_participant_left",
            "o2 ovice_participant_unsubscribed"
        ]
    );
    watcher.assert_quiet().await;
    // The last tab closes: u unsubscribes from o1 too.
    drop(tab2);
    let f = watcher.recv_plugin().await;
    assert_eq!(f["object"], "o1");
    assert_eq!(f["message"]["type"], "ovice_participant_unsubscribed");
    assert_eq!(f["message"]["payload"]["id"], "u");
    let got = watcher.get_participants("o1").await;
    assert_eq!(messages(&got)[0]["payload"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_dropped_joined_user_leaves_then_unsubscribes() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.present("a", "o1", "subscribed").await;
    let b = s.joined("b", "o1").await;
    a.recv_plugin().await;
    a.recv_plugin().await;
    drop(b);
    assert_eq!(
        a.recv_types(2).await,
        ["ovice_participant_left", "ovice_participant_unsubscribed"]
    );
}
