//! Swagger UI at `/docs` and the document at `/openapi.json`, from vendored assets.
//!
//! The page is served at `/docs` itself, as FastAPI serves it, not behind a redirect to
//! `/docs/`: Swagger UI resolves a relative `tokenUrl` such as `token` against the page's
//! address, so only from `/docs` does the Authorize dialog post to `/token`.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::Config;

/// Serves `openapi` at `/openapi.json` and Swagger UI at `/docs`; merge it into the app's router.
pub fn swagger_ui<S: Clone + Send + Sync + 'static>(openapi: OpenApi) -> Router<S> {
    let config = Arc::new(Config::new(["/openapi.json"]).use_base_layout());
    let document = Arc::new(openapi);
    let index_config = config.clone();
    Router::new()
        .route("/openapi.json", get(move || async move { Json(document.as_ref().clone()) }))
        .route("/docs", get(move || async move { index(&index_config) }))
        .route("/docs/{*file}", get(move |Path(file): Path<String>| async move { asset(&file, &config) }))
}

fn index(config: &Arc<Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve("index.html", config.clone()) {
        Ok(Some(file)) => {
            // Assets are referenced relatively ("./swagger-ui.css"); from `/docs` they live under `/docs/`.
            let html =
                String::from_utf8_lossy(&file.bytes).replacen("<head>", "<head>\n    <base href=\"/docs/\" />", 1);
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn asset(file: &str, config: &Arc<Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve(file, config.clone()) {
        Ok(Some(file)) => ([(header::CONTENT_TYPE, file.content_type)], file.bytes.into_owned()).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%error, "failed to render Swagger UI");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
