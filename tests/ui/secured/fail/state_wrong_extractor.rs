//! With `state = AppState`, a parameter that is not an extractor for that state is reported at
//! the parameter, in words, rather than as "`Handler<_, _>` is not implemented" at the route.

use auth_core::{Depends, secured};
use axum::{Router, extract::State, routing::get};

#[derive(Clone)]
struct AppState;

#[derive(Clone)]
struct OtherState;

struct NotAnExtractor;

#[secured]
async fn needs_other(State(_other): State<OtherState>) -> &'static str {
    "other"
}

#[secured(state = AppState)]
async fn handler(_wrong: NotAnExtractor, Depends(other): Depends<needs_other>, _body: String) -> &'static str {
    other
}

fn main() {
    let _app: Router = Router::new().route("/", get(handler)).with_state(AppState);
}
