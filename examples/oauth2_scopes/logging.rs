//! How the example logs: at `info` unless `RUST_LOG` says otherwise, in plain text when stdout
//! is not a terminal (a file, a pipe, a container's log), and every request's URI with its
//! credentials redacted (`?access_token=[redacted]`).
//!
//! The example binary and the logging test both include this module.
#![allow(unreachable_pub, dead_code)]

use auth_core::logging::RedactingMakeSpan;
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::TraceLayer,
};
use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

/// The filter when `RUST_LOG` is unset: auth-core's login failures and JWT rejections, the
/// app's own events, and nothing per request.
pub const DEFAULT_FILTER: &str = "info";

/// A `fmt` subscriber writing to `writer`: filtered by `filter` (`RUST_LOG`'s syntax) or
/// [`DEFAULT_FILTER`], with ANSI colours only when `ansi` (stdout is a terminal).
pub fn subscriber<W>(writer: W, ansi: bool, filter: Option<&str>) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        filter.and_then(|filter| EnvFilter::try_new(filter).ok()).unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(writer).finish()
}

/// tower-http's `TraceLayer` with the request span (method, redacted URI, version) at `info`,
/// so that every event of a request, a failed login included, says which request it was.
pub fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RedactingMakeSpan> {
    TraceLayer::new_for_http().make_span_with(RedactingMakeSpan::new().level(tracing::Level::INFO))
}
