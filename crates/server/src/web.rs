//! Static files: the browser side's build (`web/dist`) at `/`, the Web App 3 branding
//! folder with the built external-chat plugin at `/webapp3/`. Whatever exists is served;
//! a missing build gets a 404 page that says how to build it.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::Router;
use tower_http::services::ServeDir;

use crate::state::AppState;

pub fn routes(web_dir: &Path, webapp3_dir: &Path) -> Router<AppState> {
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
    Router::new()
        .nest_service(
            "/webapp3",
            ServeDir::new(webapp3_dir).not_found_service(
                axum::handler::HandlerWithoutStateExt::into_service(not_found_webapp3),
            ),
        )
        .fallback_service(
            ServeDir::new(web_dir)
                .append_index_html_on_directories(true)
                .not_found_service(axum::handler::HandlerWithoutStateExt::into_service(
                    not_found,
                )),
        )
}
