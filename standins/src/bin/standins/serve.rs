//! `standins serve`: the SageMaker stand-in and the response receiver, until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use standins::{ResponseReceiver, SageMakerStandIn, StandInConfig, local};

use crate::{USAGE, parse_ms, value};

pub(crate) fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|e| format!("bad address {s}: {e}"))
}

pub(crate) async fn run(args: &[String]) -> Result<ExitCode, String> {
    let mut sagemaker = parse_addr(local::SAGEMAKER_ADDR)?;
    let mut receiver = parse_addr(local::RECEIVER_ADDR)?;
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
    local::prepare(&sm);
    let rx = ResponseReceiver::start_on(receiver)
        .await
        .map_err(|e| format!("cannot bind the receiver on {receiver}: {e}"))?;
    println!("sagemaker={} receiver={}", sm.endpoint(), rx.endpoint());
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitCode::SUCCESS)
}
