//! `standins serve` runs the SageMaker stand-in and the response receiver;
//! `standins demo` drives the Lambda binary through CloudFormation events.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use standins::{Deadline, FunctionProcess, ResponseReceiver, RuntimeApi, SageMakerStandIn, StandInConfig};

const USAGE: &str = "usage:
  standins serve [--sagemaker ADDR] [--receiver ADDR] [--image NAME]... [--create-delay-ms N] [--delete-delay-ms N]
  standins demo --function PATH [--show-logs] EVENT.json...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("standins: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("serve") => runtime.block_on(serve(&args[1..])),
        Some("demo") => runtime.block_on(demo(&args[1..])),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("expected a subcommand\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("standins: {e}");
            ExitCode::from(2)
        }
    }
}

fn value<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|e| format!("bad address {s}: {e}"))
}

fn parse_ms(s: &str) -> Result<Duration, String> {
    s.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|e| format!("bad milliseconds {s}: {e}"))
}

async fn serve(args: &[String]) -> Result<ExitCode, String> {
    let mut sagemaker = parse_addr("127.0.0.1:9001")?;
    let mut receiver = parse_addr("127.0.0.1:9002")?;
    let mut config = StandInConfig {
        create_delay: Duration::from_millis(2000),
        delete_delay: Duration::from_millis(1000),
        ..StandInConfig::default()
    };
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--sagemaker" => sagemaker = parse_addr(value(args, &mut i, "--sagemaker")?)?,
            "--receiver" => receiver = parse_addr(value(args, &mut i, "--receiver")?)?,
            "--image" => config.images.push(value(args, &mut i, "--image")?.to_string()),
            "--create-delay-ms" => config.create_delay = parse_ms(value(args, &mut i, "--create-delay-ms")?)?,
            "--delete-delay-ms" => config.delete_delay = parse_ms(value(args, &mut i, "--delete-delay-ms")?)?,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
        i += 1;
    }
    let sm = SageMakerStandIn::start_on(sagemaker, config)
        .await
        .map_err(|e| format!("cannot bind the SageMaker stand-in on {sagemaker}: {e}"))?;
    let rx = ResponseReceiver::start_on(receiver)
        .await
        .map_err(|e| format!("cannot bind the receiver on {receiver}: {e}"))?;
    println!("sagemaker={} receiver={}", sm.endpoint(), rx.endpoint());
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitCode::SUCCESS)
}

async fn demo(args: &[String]) -> Result<ExitCode, String> {
    let mut function: Option<PathBuf> = None;
    let mut show_logs = false;
    let mut events = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--function" => function = Some(PathBuf::from(value(args, &mut i, "--function")?)),
            "--show-logs" => show_logs = true,
            other if other.starts_with("--") => {
                return Err(format!("unknown argument {other}\n{USAGE}"));
            }
            other => events.push(PathBuf::from(other)),
        }
        i += 1;
    }
    let function = function.ok_or_else(|| format!("--function is required\n{USAGE}"))?;
    if events.is_empty() {
        return Err(format!("no event files given\n{USAGE}"));
    }

    let config = StandInConfig {
        create_delay: Duration::from_millis(1500),
        delete_delay: Duration::from_millis(500),
        images: vec!["demo-image".to_string()],
        ..StandInConfig::default()
    };
    let sm = SageMakerStandIn::start_on(parse_addr("127.0.0.1:9001")?, config)
        .await
        .map_err(|e| format!("cannot bind the SageMaker stand-in on 127.0.0.1:9001: {e}"))?;
    let rx = ResponseReceiver::start_on(parse_addr("127.0.0.1:9002")?)
        .await
        .map_err(|e| format!("cannot bind the receiver on 127.0.0.1:9002: {e}"))?;
    let api = RuntimeApi::start().await;
    let rust_log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    let envs: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL_SAGEMAKER", sm.endpoint().as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDSTANDIN"),
        ("AWS_SECRET_ACCESS_KEY", "standin-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("CFN_ALLOW_LOOPBACK_RESPONSE_URL", "true"),
        ("RUST_LOG", rust_log.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let process = FunctionProcess::try_spawn(&function, &api, &envs)
        .map_err(|e| format!("cannot spawn {}: {e}", function.display()))?;

    let mut all_ok = true;
    for path in &events {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                println!("== {}: cannot read: {e}", path.display());
                all_ok = false;
                continue;
            }
        };
        let event: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                println!("== {}: not JSON: {e}", path.display());
                all_ok = false;
                continue;
            }
        };
        let request_type = event["RequestType"].as_str().unwrap_or("?").to_string();
        let request_id = event["RequestId"].as_str().unwrap_or("").to_string();
        println!("== {}: {request_type}", path.display());
        let api2 = api.clone();
        let invocation =
            tokio::spawn(async move { api2.invoke_json(&event, Deadline::In(Duration::from_secs(60))).await });
        let answer = if request_id.is_empty() {
            None
        } else {
            rx.wait_for(&request_id, Duration::from_secs(90)).await
        };
        match answer {
            Some(put) => match put.body_json() {
                Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
                Err(_) => println!("{}", put.body_text()),
            },
            None => {
                all_ok = false;
                println!("(no answer arrived for RequestId {request_id:?})");
            }
        }
        match tokio::time::timeout(Duration::from_secs(30), invocation).await {
            Ok(Ok(standins::Outcome::Error(body))) => {
                println!("(the function reported an error: {})", String::from_utf8_lossy(&body));
            }
            Ok(_) => {}
            Err(_) => println!("(the invocation did not finish)"),
        }
        if !process.is_running() {
            println!("(the function process exited: {:?})", process.exit_status());
            all_ok = false;
            break;
        }
    }
    println!("SageMaker calls: {}", sm.operations().join(" "));
    process.kill();
    if show_logs {
        eprintln!("---- function logs ----\n{}", process.logs());
    }
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
