//! `standins demo`: drives the Lambda binary through CloudFormation events
//! against fresh stand-ins on the local addresses, printing each answer.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use standins::local::{self, Step};
use standins::{Deadline, FunctionProcess, Outcome, ResponseReceiver, RuntimeApi, SageMakerStandIn, StandInConfig};

use crate::serve::parse_addr;
use crate::{USAGE, value};

pub(crate) async fn run(args: &[String]) -> Result<ExitCode, String> {
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
        events = local::lifecycle_files(Path::new(local::EVENTS_DIR))?;
    }

    let config = StandInConfig {
        create_delay: Duration::from_millis(1500),
        delete_delay: Duration::from_millis(500),
        ..StandInConfig::default()
    };
    let sm = SageMakerStandIn::start_on(parse_addr(local::SAGEMAKER_ADDR)?, config)
        .await
        .map_err(|e| format!("cannot start the SageMaker stand-in on {}: {e}", local::SAGEMAKER_ADDR))?;
    local::prepare(&sm);
    let rx = ResponseReceiver::start_on(parse_addr(local::RECEIVER_ADDR)?)
        .await
        .map_err(|e| format!("cannot bind the receiver on {}: {e}", local::RECEIVER_ADDR))?;
    let api = RuntimeApi::start().await;
    let process = FunctionProcess::try_spawn(
        &function,
        &api,
        &crate::function_env(&crate::local_sagemaker_endpoint()),
    )
    .map_err(|e| format!("cannot spawn {}: {e}", function.display()))?;

    let mut all_ok = true;
    for path in &events {
        let event: serde_json::Value = match std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}")))
        {
            Ok(v) => v,
            Err(e) => {
                println!("== {}: {e}", path.display());
                all_ok = false;
                continue;
            }
        };
        let request_type = event["RequestType"].as_str().unwrap_or("?").to_string();
        let request_id = event["RequestId"].as_str().unwrap_or("").to_string();
        println!("== {}: {request_type}", path.display());
        let invocation = {
            let (api, event) = (api.clone(), event.clone());
            tokio::spawn(async move { api.invoke_json(&event, Deadline::In(Duration::from_secs(60))).await })
        };
        let answer = if request_id.is_empty() {
            None
        } else {
            rx.wait_for(&request_id, Duration::from_secs(90)).await
        };
        match answer.map(|put| put.body_json().map_err(|_| put.body_text())) {
            Some(Ok(body)) => {
                println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
                // The lifecycle's own events must get the answers it expects.
                for mismatch in Step::of_file(path)
                    .map(|step| step.expected.mismatches(&event, &body))
                    .unwrap_or_default()
                {
                    println!("(unexpected: {mismatch})");
                    all_ok = false;
                }
            }
            Some(Err(text)) => {
                println!("{text}\n(the answer is not JSON)");
                all_ok = false;
            }
            None => {
                all_ok = false;
                println!("(no answer arrived for RequestId {request_id:?})");
            }
        }
        match tokio::time::timeout(Duration::from_secs(30), invocation).await {
            Ok(Ok(Outcome::Error(body))) => {
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
