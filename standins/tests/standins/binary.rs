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
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(10), line)
        .await
        .unwrap()
        .unwrap();
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
