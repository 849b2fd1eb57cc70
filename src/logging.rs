//! Structured logs: JSON when Lambda's log format is JSON, plain text
//! otherwise; `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// The most a target may log, whatever level is asked for. A cap is a
/// second filter that an event must also pass, so it only ever lowers a
/// level: at `info` none of these adds a line.
const CAPS: [(&str, LevelFilter); 5] = [
    // The signer's debug output holds the canonical request and its headers.
    ("aws_sigv4", LevelFilter::OFF),
    // The runtime traces each raw event, ResponseURL signature included.
    ("lambda_runtime::layers::api_response", LevelFilter::DEBUG),
    // The SDK's orchestrator logs the resolved identity (the access key id)
    // when it resolves the endpoint and signs, at debug and trace.
    ("aws_smithy_runtime::client::orchestrator", LevelFilter::DEBUG),
    ("aws_smithy_runtime::client::orchestrator::endpoints", LevelFilter::INFO),
    ("aws_smithy_runtime::client::orchestrator::auth", LevelFilter::INFO),
];

pub fn init() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_ascii_lowercase()))
        .unwrap_or_else(|_| "info".to_owned());
    let asked = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = asked.and(Targets::new().with_default(LevelFilter::TRACE).with_targets(CAPS));
    let layer = fmt::layer().with_ansi(false).without_time();
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        let layer = layer.json().with_current_span(true).with_span_list(false);
        tracing_subscriber::registry().with(layer.with_filter(filter)).init();
    } else {
        tracing_subscriber::registry().with(layer.with_filter(filter)).init();
    }
}
