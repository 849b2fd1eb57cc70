//! A minimal HTTP/1.1 client for the stand-ins' admin routes
//! (`/_receiver/...`, `/_standin/...`) of a `standins serve` in another process.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Sends `method path` to `addr` (HOST:PORT) and returns the status and the JSON body.
pub(crate) async fn call(addr: &str, method: Method, path: &str) -> Result<(u16, Value), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{method} http://{addr}{path}: {e}");
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| fail(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| fail(&e))?;
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method.clone())
        .uri(path)
        .header("host", addr)
        .body(Empty::<Bytes>::new())
        .map_err(|e| fail(&e))?;
    let response = sender.send_request(request).await.map_err(|e| fail(&e))?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|e| fail(&e))?.to_bytes();
    let json = serde_json::from_slice(&body).map_err(|e| fail(&e))?;
    Ok((status, json))
}

/// `GET path`, which must answer 200.
pub(crate) async fn get(addr: &str, path: &str) -> Result<Value, String> {
    ok(addr, Method::GET, path).await
}

/// `POST path`, which must answer 200.
pub(crate) async fn post(addr: &str, path: &str) -> Result<Value, String> {
    ok(addr, Method::POST, path).await
}

async fn ok(addr: &str, method: Method, path: &str) -> Result<Value, String> {
    match call(addr, method.clone(), path).await? {
        (200, json) => Ok(json),
        (status, json) => Err(format!("{method} http://{addr}{path}: HTTP {status} {json}")),
    }
}
