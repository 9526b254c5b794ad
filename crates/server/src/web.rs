//! Static files: the browser side's build (`web/dist`) at `/`, the Web App 3 branding
//! folder with the built external-chat plugin at `/webapp3/`. Whatever exists is served;
//! a missing build gets a 404 page that says how to build it.
//!
//! Nothing outside the two folders is served, even through a symbolic link inside them.
//! The project's own pages get a Content-Security-Policy ([`page_csp`]); the plugins
//! (`/plugins/`, `/webapp3/`) are documents of their own, framed by the pages and by Web
//! App 3, and are left to their authors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use tower_http::services::ServeDir;

use crate::state::AppState;

pub fn routes(web_dir: &Path, webapp3_dir: &Path, ws_urls: &[String]) -> Router<AppState> {
    let csp = HeaderValue::from_str(&page_csp(ws_urls))
        .unwrap_or_else(|_| HeaderValue::from_static(PAGE_CSP));
    let web_missing = !web_dir.is_dir();
    let web_dir_shown: PathBuf = web_dir.to_path_buf();
    let not_found = move || {
        let shown = web_dir_shown.display().to_string();
        async move {
            let body = if web_missing {
                format!("<!doctype html><title>meetbridge: not built</title><h1>Not found</h1><p>The browser side is not built: <code>{shown}</code> does not exist. Run <code>npm run build</code> in <code>web/</code> (or <code>make run</code>).</p><p>The server itself is up: <a href=\"/healthz\">/healthz</a>, <a href=\"/api/info\">/api/info</a>.</p>")
            } else {
                "<!doctype html><title>meetbridge: not found</title><h1>Not found</h1><p>No such file.</p>".to_owned()
            };
            (StatusCode::NOT_FOUND, Html(body)).into_response()
        }
    };
    let not_found_webapp3 = || async {
        (StatusCode::NOT_FOUND, Html("<!doctype html><h1>Not found</h1><p>The Web App 3 plugin is not deployed here: run <code>make deploy</code>.</p>")).into_response()
    };
    let webapp3 = Router::new()
        .fallback_service(ServeDir::new(webapp3_dir).not_found_service(
            axum::handler::HandlerWithoutStateExt::into_service(not_found_webapp3),
        ))
        .layer(axum::middleware::from_fn_with_state(
            Folder::new(webapp3_dir),
            stay_inside,
        ));
    Router::new()
        .nest_service("/webapp3", webapp3)
        .fallback_service(
            Router::new()
                .fallback_service(
                    ServeDir::new(web_dir)
                        .append_index_html_on_directories(true)
                        .not_found_service(axum::handler::HandlerWithoutStateExt::into_service(
                            not_found,
                        )),
                )
                .layer(axum::middleware::from_fn_with_state(csp, page_policy))
                .layer(axum::middleware::from_fn_with_state(
                    Folder::new(web_dir),
                    stay_inside,
                )),
        )
}

/// The Content-Security-Policy of the project's pages (the space, the meeting page, the
/// dev view, the Web App 3 stand-in): scripts only from this server, WebAssembly compiled
/// from them (`'wasm-unsafe-eval'`), no plugins or `<base>` tricks; inline styles are
/// allowed (the pages set a few); frames may be any https page (plugins, Web App 3) or
/// this server; images from anywhere over https (avatars).
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; font-src 'self' data:; \
connect-src 'self'; frame-src 'self' https: http:; media-src 'self' blob: https:; \
object-src 'none'; base-uri 'self'; form-action 'self'";

/// The origin (`wss://node1.example.com`) of a `--ws-url`, or why it is not one: the pages
/// may connect there, so it joins their `connect-src`.
pub fn ws_origin(url: &str) -> Result<&str, String> {
    let refuse = |why: &str| {
        Err(format!(
            "`--ws-url` {url:?} {why}: give a ws:// or wss:// URL, e.g. wss://node1.example.com/ws"
        ))
    };
    let Some(rest) = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
    else {
        return refuse("is not ws:// or wss://");
    };
    if url.len() > 2048 {
        return refuse("is longer than 2048 bytes");
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let safe = |c: char| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&()*+=%".contains(c);
    if host.is_empty() || host.contains('@') || !url.chars().all(safe) {
        return refuse("must name a host, without a user name, spaces, quotes, `,` or `;`");
    }
    Ok(&url[..url.len() - rest.len() + host.len()])
}

/// [`PAGE_CSP`] with the origins of the `--ws-url`s added to `connect-src`, so that a page
/// may move to another node of the cluster.
pub fn page_csp(ws_urls: &[String]) -> String {
    let extra: Vec<&str> = ws_urls.iter().filter_map(|u| ws_origin(u).ok()).collect();
    if extra.is_empty() {
        return PAGE_CSP.to_owned();
    }
    PAGE_CSP.replace(
        "connect-src 'self';",
        &format!("connect-src 'self' {};", extra.join(" ")),
    )
}

/// Sets the pages' CSP ([`page_csp`]) on HTML answers outside `/plugins/`.
async fn page_policy(State(csp): State<HeaderValue>, request: Request, next: Next) -> Response {
    let is_plugin = request.uri().path().starts_with("/plugins/");
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !is_plugin {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// A served folder, by its real path (symbolic links resolved).
#[derive(Clone)]
struct Folder(Arc<Option<PathBuf>>);

impl Folder {
    fn new(dir: &Path) -> Self {
        Folder(Arc::new(std::fs::canonicalize(dir).ok()))
    }
}

/// Answers 404 for a path whose file (or directory index) really lies outside the folder,
/// as a symbolic link can make it; everything else goes on to the file service, which
/// refuses `..` itself.
async fn stay_inside(State(folder): State<Folder>, request: Request, next: Next) -> Response {
    let Some(root) = folder.0.as_deref() else {
        return next.run(request).await;
    };
    let decoded = percent_encoding::percent_decode_str(request.uri().path()).decode_utf8_lossy();
    let relative = decoded.trim_start_matches('/');
    if !relative.split('/').any(|segment| segment == "..") {
        let path = root.join(relative);
        let outside = |real: std::io::Result<PathBuf>| real.is_ok_and(|r| !r.starts_with(root));
        let escapes = outside(tokio::fs::canonicalize(&path).await)
            || (path.is_dir() && outside(tokio::fs::canonicalize(path.join("index.html")).await));
        if escapes {
            tracing::warn!(path = %decoded, "refused a file outside the served folder");
            return (
                StatusCode::NOT_FOUND,
                Html("<!doctype html><h1>Not found</h1>"),
            )
                .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_urls_join_connect_src_and_bad_ones_are_refused() {
        assert_eq!(
            ws_origin("wss://node1.example.com/ws"),
            Ok("wss://node1.example.com")
        );
        assert_eq!(
            ws_origin("ws://127.0.0.1:8082/ws?x=1"),
            Ok("ws://127.0.0.1:8082")
        );
        let csp = page_csp(&["wss://a.example/ws".into(), "ws://127.0.0.1:8082/ws".into()]);
        assert!(
            csp.contains("connect-src 'self' wss://a.example ws://127.0.0.1:8082;"),
            "{csp}"
        );
        assert_eq!(page_csp(&[]), PAGE_CSP);
        for (url, words) in [
            ("http://a.example/ws", "is not ws://"),
            (
                "wss://a.example/ws; script-src *",
                "without a user name, spaces",
            ),
            ("wss://a.example/'x'", "quotes"),
            ("wss:///ws", "must name a host"),
        ] {
            let why = ws_origin(url).expect_err(url);
            assert!(
                why.starts_with("`--ws-url`") && why.contains(words),
                "{url}: {why}"
            );
        }
    }
}
