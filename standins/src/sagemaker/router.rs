//! One request, from the wire to an answer: the admin API aside, check the
//! signature's scope, log the call, answer an armed fault if one is drawn, else
//! judge the request by the service model and dispatch on
//! `X-Amz-Target: SageMaker.<Operation>`.

use std::sync::Arc;
use std::time::Instant;

use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::errors::{self, ApiError};
use super::input::Input;
use super::state::{Call, State};
use super::{admin, operations};
use crate::http::{self, Reply};
use crate::server::{Connection, Shared};
use crate::sigv4;

pub(crate) async fn handle(shared: Arc<Shared<State>>, req: Request<Incoming>) -> Reply {
    if req.uri().path().starts_with(admin::PREFIX) {
        return Ok(admin::handle(&shared, &req));
    }
    let region = match sigv4::auth_region(req.headers(), "sagemaker") {
        Ok(r) => r,
        Err(message) => return ApiError::new("MissingAuthenticationTokenException", message).reply(),
    };
    let connection = req
        .extensions()
        .get::<Connection>()
        .expect("server::serve numbers each connection")
        .0;
    let target = http::header(req.headers(), "x-amz-target").unwrap_or("").to_owned();
    let operation = target.strip_prefix("SageMaker.").unwrap_or(&target).to_string();
    let body = parse_body(&http::read_body(req.into_body()).await);

    let fault = {
        let mut st = shared.lock();
        let fault = st.faults.draw(&operation);
        st.calls.push(Call {
            operation: operation.clone(),
            body: body.clone(),
            region: region.clone(),
            fault: fault.map(|f| f.note().to_string()),
            connection,
            at: Instant::now(),
        });
        fault
    };
    if let Some(fault) = fault {
        return fault.answer().await;
    }
    let Some(run) = target.strip_prefix("SageMaker.").and_then(operations::find) else {
        return ApiError::new("UnknownOperationException", format!("Unknown operation {target}")).reply();
    };
    let mut st = shared.lock();
    let model = st.model;
    match Input::parse(&body, model, &operation).and_then(|input| run(&mut st, &region, &input)) {
        Ok(out) => errors::success(&out),
        Err(e) => e.reply(),
    }
}

/// An empty body is `{}`; one that is not JSON is logged as a JSON string of its text.
fn parse_body(raw: &[u8]) -> Value {
    if raw.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(raw).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(raw).into_owned()))
    }
}
