//! The HTTP admin API the scripts read the stand-in through (`standins serve`
//! runs in another process): `GET /_standin/versions?image=NAME` and
//! `GET /_standin/calls`.

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
        _ => http::json_response(404, &json!({"message": format!("no admin route {method} {path}")})),
    }
}
