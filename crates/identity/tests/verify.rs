//! Token verification end to end: HS256 minting, every refusal reason, and RS256 / ES256 /
//! EdDSA keys from a JWKS served over loopback, including key rotation and an unreachable set.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use meetbridge_identity::mint::TokenRequest;
use meetbridge_identity::time::now_secs;
use meetbridge_identity::{Minter, Rejection, Role, Verifier, VerifierConfig};
use serde_json::{json, Value};

fn request(space: Option<&str>) -> TokenRequest {
    TokenRequest {
        id: "u1".into(),
        name: "Ann".into(),
        avatar_url: String::new(),
        workspace_id: "w".into(),
        language: Some("en".into()),
        email: None,
        is_visitor: false,
        space: space.map(str::to_owned),
        role: Role::Member,
        ttl_secs: 3600,
    }
}

fn hs(secret: &str, issuer: Option<&str>, audience: &[&str]) -> Verifier {
    Verifier::new(VerifierConfig {
        hs256_secret: Some(secret.as_bytes().to_vec()),
        issuer: issuer.map(str::to_owned),
        audience: audience.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn claims(extra: Value) -> Value {
    let mut base = json!({"sub": "u1", "name": "Ann", "space": "s1", "exp": now_secs() + 600});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

#[tokio::test]
async fn hs256_minted_tokens_verify_and_refusals_are_named() {
    let minter = Minter::new(
        b"secret",
        Some("https://app".into()),
        Some("meetbridge".into()),
    );
    let issued = minter.mint(&request(Some("s1"))).unwrap();
    let verified = hs("secret", Some("https://app"), &["meetbridge"])
        .verify(&issued.token)
        .await
        .unwrap();
    assert_eq!(verified.claims.sub, "u1");
    assert_eq!(verified.claims.space.as_deref(), Some("s1"));
    assert!(
        verified.claims.jti.is_some(),
        "minted tokens carry a jti for revocation"
    );
    assert_eq!(verified.claims, issued.claims);

    let refused = |v: Verifier, token: String| async move { v.verify(&token).await.unwrap_err() };
    assert_eq!(
        refused(
            hs("other", Some("https://app"), &["meetbridge"]),
            issued.token.clone()
        )
        .await,
        Rejection::BadSignature
    );
    assert_eq!(
        refused(
            hs("secret", Some("https://idp"), &["meetbridge"]),
            issued.token.clone()
        )
        .await,
        Rejection::WrongIssuer
    );
    assert_eq!(
        refused(
            hs("secret", Some("https://app"), &["other"]),
            issued.token.clone()
        )
        .await,
        Rejection::WrongAudience
    );
    let key = EncodingKey::from_secret(b"secret");
    let expired = sign(
        Algorithm::HS256,
        None,
        &key,
        &claims(json!({"exp": now_secs() - 3600})),
    );
    assert_eq!(
        refused(hs("secret", None, &[]), expired).await,
        Rejection::Expired
    );
    let early = sign(
        Algorithm::HS256,
        None,
        &key,
        &claims(json!({"nbf": now_secs() + 3600})),
    );
    assert_eq!(
        refused(hs("secret", None, &[]), early).await,
        Rejection::NotYetValid
    );
    let huge = sign(
        Algorithm::HS256,
        None,
        &key,
        &claims(json!({"exp": i64::MAX})),
    );
    assert!(matches!(
        refused(hs("secret", None, &[]), huge).await,
        Rejection::Claim { field: "exp", .. }
    ));
    let hs512 = sign(Algorithm::HS512, None, &key, &claims(json!({})));
    assert!(matches!(
        refused(hs("secret", None, &[]), hs512).await,
        Rejection::Algorithm(_)
    ));
    // `alg: none` (unsigned) is not even a JWT to the parser.
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(&claims(json!({})).to_string())
    );
    assert!(matches!(
        refused(hs("secret", None, &[]), none).await,
        Rejection::Malformed | Rejection::Algorithm(_)
    ));
    assert_eq!(
        refused(hs("secret", None, &[]), "not-a-jwt".into()).await,
        Rejection::Malformed
    );
    assert_eq!(
        refused(hs("secret", None, &[]), String::new()).await,
        Rejection::Missing
    );
    // An RS256 token where only a shared secret is configured.
    let rsa = EncodingKey::from_rsa_der(include_bytes!("keys/rsa-a.der"));
    let rs = sign(Algorithm::RS256, Some("rsa-a"), &rsa, &claims(json!({})));
    assert!(matches!(
        refused(hs("secret", None, &[]), rs).await,
        Rejection::NoKey(_)
    ));
}

#[test]
fn minting_checks_each_field() {
    let minter = Minter::new(b"s", None, None);
    let mut r = request(Some("s1"));
    r.ttl_secs = i64::MAX;
    assert_eq!(minter.mint(&r).unwrap_err().field, "ttlSecs");
    r.ttl_secs = 0;
    assert_eq!(minter.mint(&r).unwrap_err().field, "ttlSecs");
    let mut r = request(None);
    assert_eq!(minter.mint(&r).unwrap_err().field, "space");
    r.role = Role::Admin;
    assert!(
        minter.mint(&r).is_ok(),
        "an admin token may open every space"
    );
    let mut r = request(Some("s1"));
    r.email = Some("no-at-sign".into());
    assert_eq!(minter.mint(&r).unwrap_err().field, "email");
}

fn b64(text: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    URL_SAFE_NO_PAD.encode(text)
}

/// A JWKS endpoint on loopback whose key set the test can swap, counting fetches.
struct KeyServer {
    url: String,
    keys: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
}

async fn key_server(keys: Value) -> KeyServer {
    let keys = Arc::new(Mutex::new(keys));
    let hits = Arc::new(AtomicUsize::new(0));
    let (k, h) = (keys.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let (k, h) = (k.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let body = k.lock().unwrap().clone();
                axum::Json(body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    KeyServer { url, keys, hits }
}

fn jwk(name: &str) -> Value {
    let text = match name {
        "rsa-a" => include_str!("keys/rsa-a.jwk.json"),
        "rsa-b" => include_str!("keys/rsa-b.jwk.json"),
        "ec" => include_str!("keys/ec.jwk.json"),
        "ed" => include_str!("keys/ed.jwk.json"),
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

fn jwks_verifier(url: &str, min_refetch: Duration, max_age: Duration) -> Verifier {
    Verifier::new(VerifierConfig {
        jwks_url: Some(url.into()),
        issuer: Some("https://idp".into()),
        audience: vec!["meetbridge".into()],
        jwks_min_refetch: Some(min_refetch),
        jwks_max_age: Some(max_age),
        ..Default::default()
    })
}

#[tokio::test]
async fn jwks_keys_verify_rotate_and_refresh() {
    let server = key_server(
        json!({"keys": [jwk("rsa-a"), jwk("ec"), jwk("ed"), {"kty": "oct", "k": "c2VjcmV0"}]}),
    )
    .await;
    let verifier = jwks_verifier(&server.url, Duration::ZERO, Duration::from_secs(3600));
    let good = claims(json!({"iss": "https://idp", "aud": "meetbridge"}));
    let rsa_a = EncodingKey::from_rsa_der(include_bytes!("keys/rsa-a.der"));
    let rsa_b = EncodingKey::from_rsa_der(include_bytes!("keys/rsa-b.der"));
    let ec = EncodingKey::from_ec_der(include_bytes!("keys/ec.der"));
    let ed = EncodingKey::from_ed_der(include_bytes!("keys/ed.der"));

    for (alg, kid, key) in [
        (Algorithm::RS256, "rsa-a", &rsa_a),
        (Algorithm::ES256, "ec", &ec),
        (Algorithm::EdDSA, "ed", &ed),
    ] {
        let verified = verifier
            .verify(&sign(alg, Some(kid), key, &good))
            .await
            .unwrap();
        assert_eq!(
            (verified.key.as_str(), verified.claims.sub.as_str()),
            (kid, "u1")
        );
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "one fetch serves every key"
    );

    // Signed by rsa-b but claiming rsa-a's kid: the signature does not match.
    let forged = sign(Algorithm::RS256, Some("rsa-a"), &rsa_b, &good);
    assert_eq!(
        verifier.verify(&forged).await.unwrap_err(),
        Rejection::BadSignature
    );
    // An RS256 header naming the Ed25519 key's kid: that key cannot verify RS256.
    let mismatch = sign(Algorithm::RS256, Some("ed"), &rsa_a, &good);
    assert!(matches!(
        verifier.verify(&mismatch).await.unwrap_err(),
        Rejection::UnknownKid(_)
    ));
    let wrong_iss = sign(
        Algorithm::ES256,
        Some("ec"),
        &ec,
        &claims(json!({"iss": "https://evil", "aud": "meetbridge"})),
    );
    assert_eq!(
        verifier.verify(&wrong_iss).await.unwrap_err(),
        Rejection::WrongIssuer
    );
    let no_aud = sign(
        Algorithm::ES256,
        Some("ec"),
        &ec,
        &claims(json!({"iss": "https://idp"})),
    );
    assert_eq!(
        verifier.verify(&no_aud).await.unwrap_err(),
        Rejection::WrongAudience
    );

    // Rotation: the provider replaces rsa-a with rsa-b. A token naming the new kid makes the
    // cache fetch again; one naming the retired key is then refused as unknown.
    *server.keys.lock().unwrap() = json!({"keys": [jwk("rsa-b")]});
    let before = server.hits.load(Ordering::SeqCst);
    let new = sign(Algorithm::RS256, Some("rsa-b"), &rsa_b, &good);
    assert_eq!(verifier.verify(&new).await.unwrap().key, "rsa-b");
    assert_eq!(server.hits.load(Ordering::SeqCst), before + 1);
    let old = sign(Algorithm::RS256, Some("rsa-a"), &rsa_a, &good);
    assert_eq!(
        verifier.verify(&old).await.unwrap_err(),
        Rejection::UnknownKid("rsa-a".into())
    );
    // Without a kid, the one RS256 key of the set is used.
    let no_kid = sign(Algorithm::RS256, None, &rsa_b, &good);
    assert!(verifier.verify(&no_kid).await.is_ok());
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let server = key_server(json!({"keys": [jwk("ec")]})).await;
    let verifier = jwks_verifier(
        &server.url,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    );
    let ec = EncodingKey::from_ec_der(include_bytes!("keys/ec.der"));
    let good = claims(json!({"iss": "https://idp", "aud": "meetbridge"}));
    assert!(verifier
        .verify(&sign(Algorithm::ES256, Some("ec"), &ec, &good))
        .await
        .is_ok());
    for i in 0..20 {
        let kid = format!("made-up-{i}");
        let token = sign(Algorithm::ES256, Some(&kid), &ec, &good);
        assert_eq!(
            verifier.verify(&token).await.unwrap_err(),
            Rejection::UnknownKid(kid)
        );
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "a flood of unknown kids is not a flood of fetches"
    );
}

#[tokio::test]
async fn the_set_is_refreshed_on_a_schedule() {
    let server = key_server(json!({"keys": [jwk("ed")]})).await;
    let verifier = jwks_verifier(
        &server.url,
        Duration::from_secs(3600),
        Duration::from_millis(100),
    );
    let task = verifier.jwks().unwrap().spawn_refresh();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.hits.load(Ordering::SeqCst) < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no scheduled refresh"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
}

#[tokio::test]
async fn an_unreachable_or_broken_key_set_is_its_own_reason() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks", listener.local_addr().unwrap())
    };
    let ec = EncodingKey::from_ec_der(include_bytes!("keys/ec.der"));
    let token = sign(
        Algorithm::ES256,
        Some("ec"),
        &ec,
        &claims(json!({"iss": "https://idp", "aud": "meetbridge"})),
    );
    let verifier = jwks_verifier(&closed, Duration::ZERO, Duration::from_secs(3600));
    assert!(matches!(
        verifier.verify(&token).await.unwrap_err(),
        Rejection::JwksUnreachable(_)
    ));

    let server = key_server(json!({"not": "a key set"})).await;
    let verifier = jwks_verifier(&server.url, Duration::ZERO, Duration::from_secs(3600));
    match verifier.verify(&token).await.unwrap_err() {
        Rejection::JwksUnreachable(why) => assert!(why.contains("keys"), "{why}"),
        other => panic!("{other:?}"),
    }
}
