//! The HTTP admin API the scripts read and steer the stand-in through
//! (`standins serve` runs in another process): `GET /_standin/versions?image=NAME`,
//! `GET /_standin/calls`, `POST /_standin/fail-next-creation?reason=TEXT` and
//! `POST /_standin/create-delay?ms=N` (for the versions created from then on).

use hyper::{Method, Request, Response};
use serde_json::{Value, json};

use super::state::State;
use crate::http::{self, Body};
use crate::server::Shared;

pub(crate) const PREFIX: &str = "/_standin/";

pub(crate) fn handle<B>(shared: &Shared<State>, req: &Request<B>) -> Response<Body> {
    let (method, path) = (req.method(), req.uri().path());
    match (method, path) {
        (&Method::GET, "/_standin/calls") => {
            let calls: Vec<Value> = shared
                .lock()
                .calls
                .iter()
                .map(|c| {
                    json!({
                        "Operation": c.operation,
                        "Body": c.body,
                        "Region": c.region,
                        "Fault": c.fault,
                    })
                })
                .collect();
            http::json_response(200, &Value::Array(calls))
        }
        (&Method::GET, "/_standin/versions") => {
            let Some(image) = http::query_param(req.uri().query(), "image") else {
                return http::json_response(400, &json!({"message": "query parameter image is required"}));
            };
            let views = shared.lock().views(&image);
            http::json_response(200, &serde_json::to_value(views).unwrap_or(Value::Null))
        }
        (&Method::POST, "/_standin/fail-next-creation") => {
            let Some(reason) = http::query_param(req.uri().query(), "reason") else {
                return http::json_response(400, &json!({"message": "query parameter reason is required"}));
            };
            shared.lock().fail_creations.push_back(reason);
            http::json_response(200, &json!({}))
        }
        (&Method::POST, "/_standin/create-delay") => {
            let Some(ms) = http::query_param(req.uri().query(), "ms").and_then(|ms| ms.parse().ok()) else {
                return http::json_response(
                    400,
                    &json!({"message": "query parameter ms (milliseconds) is required"}),
                );
            };
            shared.lock().create_delay = std::time::Duration::from_millis(ms);
            http::json_response(200, &json!({}))
        }
        _ => http::json_response(404, &json!({"message": format!("no admin route {method} {path}")})),
    }
}
