//! Drives N requests through one app (for callgrind).
use auth_bench::{REFRESH_SECRET, SECRET, baseline, port};
use axum::{
    body::Body,
    http::{Request, header},
};
use http_body_util::BodyExt;
use tower::ServiceExt;
fn main() {
    let which = std::env::args().nth(1).unwrap();
    let n: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let state = port::AppState::new(SECRET, REFRESH_SECRET).unwrap();
    let token = state.jwt.issue("johndoe", &["me", "items"]).unwrap();
    let auth = format!("Bearer {token}");
    let app = match which.as_str() {
        "generated" => port::app(state.clone()),
        "same_jwt" => baseline::app(baseline::BaselineState::with_auth_core_jwt(state.jwt.clone())),
        _ => baseline::app(baseline::BaselineState::new(SECRET)),
    };
    rt.block_on(async {
        for _ in 0..n {
            let req =
                Request::get("/users/me/items/").header(header::AUTHORIZATION, &auth).body(Body::empty()).unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert!(res.status().is_success());
            let _ = res.into_body().collect().await.unwrap().to_bytes();
        }
    });
}
