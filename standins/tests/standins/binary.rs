//! The `standins` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::client::*;

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_prints_its_endpoints_and_serves_the_images_given() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_standins"))
        .args([
            "serve",
            "--sagemaker",
            "127.0.0.1:0",
            "--receiver",
            "127.0.0.1:0",
            "--lambda",
            "127.0.0.1:0",
            "--sfn",
            "127.0.0.1:0",
            "--image",
            "one",
            "--image",
            "two",
            "--create-delay-ms",
            "10",
            "--delete-delay-ms",
            "10",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Kill(child);
    let line = first_line(stdout).await;
    let mut parts = line.split_whitespace();
    let sagemaker = parts.next().unwrap().strip_prefix("sagemaker=").unwrap().to_string();
    let receiver = parts.next().unwrap().strip_prefix("receiver=").unwrap().to_string();
    assert!(sagemaker.starts_with("http://127.0.0.1:"));
    let body = json!({"ImageName": "two", "BaseImage": "r:1", "ClientToken": "t"});
    assert_ok(&call(&sagemaker, "CreateImageVersion", body).await);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let out = assert_ok(&call(&sagemaker, "DescribeImageVersion", json!({"ImageName": "two"})).await);
    assert_eq!(out["ImageVersionStatus"], "CREATED");
    let r = request(&host_of(&receiver), "PUT", "/x/req", &[], b"{}").await;
    assert_eq!(r.status, 200);
}

/// A function that answers every invocation with its pid and part of its
/// environment, and logs to stderr.
const FAKE_FUNCTION: &str = r#"#!/bin/sh
echo "fake function up" >&2
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
headers="$(mktemp)"
while :; do
  curl -sS -D "$headers" -o /dev/null "$api/next" || exit 1
  id=$(tr -d '\r' < "$headers" | sed -n 's/^lambda-runtime-aws-request-id: //p')
  answer="{\"pid\":$$,\"lambda\":\"$AWS_ENDPOINT_URL_LAMBDA\",\"framework\":\"$PROVIDER_FRAMEWORK\",\"ca\":\"$SSL_CERT_FILE\"}"
  curl -sS -o /dev/null -X POST --data "$answer" "$api/$id/response" || exit 1
done
"#;

fn write_fake_function(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let script = dir.join("fake-function.sh");
    std::fs::write(&script, FAKE_FUNCTION).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Whether process `pid` is gone (or a zombie no one reaped yet).
fn gone(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| stat.contains(") Z "))
}

#[tokio::test]
async fn serve_runs_the_function_behind_the_lambda_api_over_https_and_stops_it_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("standins-serve-{}", std::process::id()));
    let script = write_fake_function(&dir);
    let ca_path = dir.join("ca.pem");
    let mut child = serve_on_free_ports()
        .args([
            "--tls-ca",
            ca_path.to_str().unwrap(),
            "--function",
            script.to_str().unwrap(),
        ])
        .args([
            "--function-env",
            "PROVIDER_FRAMEWORK=cdk",
            "--function-timeout-ms",
            "5000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let serve_pid = child.id();
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let mut serve = Kill(child);
    let line = first_line(stdout).await;
    let endpoints: Vec<(&str, &str)> = line
        .split_whitespace()
        .map(|part| part.split_once('=').unwrap())
        .collect();
    let names: Vec<&str> = endpoints.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["sagemaker", "receiver", "lambda", "sfn"], "{line}");
    assert!(
        endpoints.iter().all(|(_, url)| url.starts_with("https://127.0.0.1:")),
        "{line}"
    );
    let lambda = endpoints[2].1;

    let tls = trusting(&std::fs::read_to_string(&ca_path).unwrap());
    let auth = auth_for("us-east-1", "lambda");
    let invocations = "/2015-03-31/functions/sagemaker-image-version/invocations";
    let r = request_tls(&tls, lambda, "POST", invocations, &[("Authorization", &auth)], b"{}").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["lambda"], lambda);
    assert_eq!(answer["framework"], "cdk");
    assert_eq!(answer["ca"], ca_path.to_str().unwrap());
    let function_pid = answer["pid"].as_u64().unwrap();

    let killed = Command::new("kill")
        .args(["-TERM", &serve_pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || serve.0.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(gone(function_pid), "the function process outlived serve");
    let logs = tokio::task::spawn_blocking(move || std::io::read_to_string(stderr).unwrap())
        .await
        .unwrap();
    assert!(
        logs.contains("fake function up"),
        "the function logs to serve's stderr: {logs}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_arguments_and_a_demo_without_a_function_fail() {
    let out = Command::new(env!("CARGO_BIN_EXE_standins"))
        .arg("serve")
        .arg("--bogus")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_standins"))
        .arg("demo")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--function"));
}

/// The first line `serve` prints (its endpoints), within 10 s.
async fn first_line(stdout: std::process::ChildStdout) -> String {
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    tokio::time::timeout(Duration::from_secs(10), line)
        .await
        .expect("serve prints its endpoints")
        .unwrap()
}

/// `standins serve` with every stand-in on a free loopback port.
fn serve_on_free_ports() -> Command {
    let any = "127.0.0.1:0";
    let mut serve = Command::new(env!("CARGO_BIN_EXE_standins"));
    serve.args([
        "serve",
        "--sagemaker",
        any,
        "--receiver",
        any,
        "--lambda",
        any,
        "--sfn",
        any,
    ]);
    serve
}

#[test]
fn serve_will_not_start_without_the_service_model() {
    let out = serve_on_free_ports()
        .env("SAGEMAKER_SERVICE_MODEL", "/nonexistent/service-2.json.gz")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let named = stderr.contains("/nonexistent/service-2.json.gz") && stderr.contains("run `make tools`");
    assert!(named, "{stderr}");
}
