//! Structured logs: JSON when Lambda's log format is JSON, plain text
//! otherwise; `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_ascii_lowercase()))
        .unwrap_or_else(|_| "info".to_owned());
    // Never let these reach the logs, whatever level is asked for: the
    // signer's debug output holds the canonical request and its headers.
    let filter = EnvFilter::try_new(&level)
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive("aws_sigv4=off".parse().expect("static directive"))
        // The runtime traces each raw event, ResponseURL signature included.
        .add_directive(
            "lambda_runtime::layers::api_response=debug"
                .parse()
                .expect("static directive"),
        );
    // The SDK's orchestrator logs the resolved identity (the access key id)
    // when it resolves the endpoint and signs, at debug and trace.
    let filter = [
        "aws_smithy_runtime::client::orchestrator=debug",
        "aws_smithy_runtime::client::orchestrator::endpoints=info",
        "aws_smithy_runtime::client::orchestrator::auth=info",
    ]
    .into_iter()
    .fold(filter, |filter, directive| {
        filter.add_directive(directive.parse().expect("static directive"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time();
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().with_current_span(true).with_span_list(false).init();
    } else {
        builder.init();
    }
}
