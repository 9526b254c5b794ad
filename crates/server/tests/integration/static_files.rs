//! Static files stay inside their folders, and every answer carries the browser-side
//! defences: no sniffing, a referrer policy, and a Content-Security-Policy on the
//! project's own pages (not on the plugins, which are documents of their own).

use std::os::unix::fs::symlink;

use crate::common::*;
use crate::connection_limits::request;

#[tokio::test]
async fn symbolic_links_out_of_the_served_folders_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    std::fs::create_dir(outside.path().join("elsewhere")).unwrap();
    std::fs::write(
        outside.path().join("elsewhere/index.html"),
        "<p>not ours</p>",
    )
    .unwrap();
    let s = start_with(|c| {
        let web = c.data.data_dir.join("web");
        let webapp3 = c.data.data_dir.join("webapp3");
        std::fs::create_dir_all(web.join("plugins/p")).unwrap();
        std::fs::create_dir_all(&webapp3).unwrap();
        std::fs::write(web.join("index.html"), "<p>space</p>").unwrap();
        std::fs::write(web.join("plugins/p/index.html"), "<p>plugin</p>").unwrap();
        symlink(outside.path().join("secret.txt"), web.join("leak.txt")).unwrap();
        symlink(outside.path().join("elsewhere"), web.join("dir")).unwrap();
        symlink(outside.path().join("secret.txt"), webapp3.join("leak.txt")).unwrap();
        symlink(web.join("index.html"), web.join("again.html")).unwrap();
        c.web_dir = web;
        c.webapp3_dir = webapp3;
    })
    .await;
    for path in [
        "/leak.txt",
        "/dir/",
        "/dir/index.html",
        "/webapp3/leak.txt",
        "/%6ceak.txt",
    ] {
        let got = request(s.addr, path, "").await;
        assert_eq!(got.status, 404, "{path}: {}", got.body);
        assert!(!got.body.contains("secret") && !got.body.contains("not ours"));
    }
    // A link that stays inside is served.
    let again = request(s.addr, "/again.html", "").await;
    assert_eq!((again.status, again.body.as_str()), (200, "<p>space</p>"));
}

#[tokio::test]
async fn pages_get_a_content_security_policy_and_every_answer_nosniff() {
    let s = start_with(|c| {
        let web = c.data.data_dir.join("web");
        std::fs::create_dir_all(web.join("plugins/p")).unwrap();
        std::fs::write(web.join("index.html"), "<p>space</p>").unwrap();
        std::fs::write(web.join("plugins/p/index.html"), "<p>plugin</p>").unwrap();
        c.web_dir = web;
    })
    .await;
    let page = request(s.addr, "/", "").await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.contains("object-src 'none'"), "{csp}");
    let plugin = request(s.addr, "/plugins/p/", "").await;
    assert_eq!(plugin.status, 200);
    assert_eq!(plugin.header("content-security-policy"), None);
    for answer in [page, plugin, request(s.addr, "/healthz", "").await] {
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(
            answer.header("referrer-policy"),
            Some("strict-origin-when-cross-origin")
        );
    }
}
