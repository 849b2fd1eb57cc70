//! `standins serve`: the SageMaker stand-in, the response receiver, Lambda's
//! `Invoke` API (with the function, when given) and Step Functions'
//! `StartExecution`, over http or https, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use standins::{
    FunctionProcess, LambdaApi, Listen, Logs, ResponseReceiver, RuntimeApi, SageMakerStandIn, StandInConfig,
    StepFunctionsStandIn, TestCa, local,
};

use crate::{USAGE, parse_ms, value};

pub(crate) fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|e| format!("bad address {s}: {e}"))
}

struct Options {
    sagemaker: SocketAddr,
    receiver: SocketAddr,
    lambda: SocketAddr,
    sfn: SocketAddr,
    config: StandInConfig,
    function: Option<PathBuf>,
    function_env: Vec<(String, String)>,
    function_timeout: Option<Duration>,
    tls_ca: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        sagemaker: parse_addr(local::SAGEMAKER_ADDR)?,
        receiver: parse_addr(local::RECEIVER_ADDR)?,
        lambda: parse_addr(local::LAMBDA_ADDR)?,
        sfn: parse_addr(local::SFN_ADDR)?,
        config: StandInConfig {
            create_delay: Duration::from_millis(2000),
            delete_delay: Duration::from_millis(1000),
            ..StandInConfig::default()
        },
        function: None,
        function_env: Vec::new(),
        function_timeout: None,
        tls_ca: None,
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        match flag {
            "--sagemaker" => o.sagemaker = parse_addr(value(args, &mut i, flag)?)?,
            "--receiver" => o.receiver = parse_addr(value(args, &mut i, flag)?)?,
            "--lambda" => o.lambda = parse_addr(value(args, &mut i, flag)?)?,
            "--sfn" => o.sfn = parse_addr(value(args, &mut i, flag)?)?,
            "--image" => o.config.images.push(value(args, &mut i, flag)?.to_string()),
            "--create-delay-ms" => o.config.create_delay = parse_ms(value(args, &mut i, flag)?)?,
            "--delete-delay-ms" => o.config.delete_delay = parse_ms(value(args, &mut i, flag)?)?,
            "--function" => o.function = Some(PathBuf::from(value(args, &mut i, flag)?)),
            "--function-env" => {
                let pair = value(args, &mut i, flag)?;
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--function-env expects K=V, not {pair}"))?;
                o.function_env.push((k.to_owned(), v.to_owned()));
            }
            "--function-timeout-ms" => o.function_timeout = Some(parse_ms(value(args, &mut i, flag)?)?),
            "--tls-ca" => o.tls_ca = Some(PathBuf::from(value(args, &mut i, flag)?)),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
        i += 1;
    }
    Ok(o)
}

fn cannot_start(what: &'static str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> String {
    move |e| format!("cannot start {what} on {addr}: {e}")
}

pub(crate) async fn run(args: &[String]) -> Result<ExitCode, String> {
    let o = parse(args)?;
    let ca = match &o.tls_ca {
        Some(path) => {
            Some(TestCa::create(path).map_err(|e| format!("cannot write the CA to {}: {e}", path.display()))?)
        }
        None => None,
    };
    let listen = |addr: SocketAddr| ca.as_ref().map_or(Listen::from(addr), |ca| ca.listen(addr));

    let sm = SageMakerStandIn::start_on(listen(o.sagemaker), o.config)
        .await
        .map_err(cannot_start("the SageMaker stand-in", o.sagemaker))?;
    local::prepare(&sm);
    let rx = ResponseReceiver::start_on(listen(o.receiver))
        .await
        .map_err(cannot_start("the receiver", o.receiver))?;
    let runtime = RuntimeApi::start().await;
    let mut lambda = LambdaApi::start_on(listen(o.lambda), &runtime)
        .await
        .map_err(cannot_start("the Lambda stand-in", o.lambda))?;
    if let Some(timeout) = o.function_timeout {
        lambda = lambda.with_timeout(timeout);
    }
    let sfn = StepFunctionsStandIn::start_on(listen(o.sfn))
        .await
        .map_err(cannot_start("the Step Functions stand-in", o.sfn))?;

    // Killed when dropped, on the way out.
    let _function = match &o.function {
        Some(bin) => {
            let mut env = crate::function_env(&sm.endpoint());
            env.push(lambda.endpoint_env());
            env.extend(ca.iter().flat_map(TestCa::client_env));
            env.extend(o.function_env);
            let process = FunctionProcess::try_spawn_at(bin, &runtime.address(), &env, Logs::Stderr)
                .map_err(|e| format!("cannot spawn {}: {e}", bin.display()))?;
            Some(process)
        }
        None => None,
    };
    println!(
        "sagemaker={} receiver={} lambda={} sfn={}",
        sm.endpoint(),
        rx.endpoint(),
        lambda.endpoint(),
        sfn.endpoint()
    );
    stopped().await;
    Ok(ExitCode::SUCCESS)
}

/// Until Ctrl-C or SIGTERM.
async fn stopped() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let sigterm = async {
        match term.as_mut() {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm => {}
    }
}
