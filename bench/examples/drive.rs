//! Sends `GET /users/me/items/` N times through one app, in one process, for an instruction
//! profile (the machines here have no hardware counters, and callgrind's counts do not move
//! with the load of the other core):
//!
//! ```sh
//! cargo build --release -p auth-bench --example drive
//! valgrind --tool=callgrind target/release/examples/drive generated 20000   # the tutorial port
//! valgrind --tool=callgrind target/release/examples/drive same_jwt 20000    # hand-written, auth-core's JWT
//! valgrind --tool=callgrind target/release/examples/drive hand_written 20000
//! ```
use auth_bench::{REFRESH_SECRET, SECRET, baseline, port};
use axum::{
    body::Body,
    http::{Request, header},
};
use http_body_util::BodyExt;
use tower::ServiceExt;
const USAGE: &str = "usage: drive generated|same_jwt|hand_written REQUESTS";

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let which = args.next().ok_or(USAGE)?;
    let n: usize = args.next().and_then(|n| n.parse().ok()).ok_or(USAGE)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let state = port::AppState::new(SECRET, REFRESH_SECRET).map_err(|e| e.to_string())?;
    let token = state.jwt.issue("johndoe", &["me", "items"]).map_err(|e| e.to_string())?;
    let auth = format!("Bearer {token}");
    let app = match which.as_str() {
        "generated" => port::app(state.clone()),
        "same_jwt" => baseline::app(baseline::BaselineState::with_auth_core_jwt(state.jwt.clone())),
        "hand_written" => baseline::app(baseline::BaselineState::new(SECRET)),
        _ => return Err(USAGE.to_owned()),
    };
    rt.block_on(async {
        for _ in 0..n {
            let request = Request::get("/users/me/items/")
                .header(header::AUTHORIZATION, &auth)
                .body(Body::empty())
                .map_err(|e| e.to_string())?;
            let response = app.clone().oneshot(request).await.map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("unexpected status {}", response.status()));
            }
            response.into_body().collect().await.map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}
