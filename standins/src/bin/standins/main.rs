//! The `standins` command: the local run's stand-ins, and the facts and checks
//! of `standins::local` for the scripts, so that no script repeats them.

mod checks;
mod client;
mod demo;
mod serve;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use standins::local;

const USAGE: &str = "usage:
  standins serve [--sagemaker ADDR] [--receiver ADDR] [--lambda ADDR] [--sfn ADDR] [--image NAME]...
                 [--create-delay-ms N] [--delete-delay-ms N] [--tls-ca PATH]
                 [--function PATH [--function-env K=V]... [--function-timeout-ms N]]
      the SageMaker stand-in, the response receiver, Lambda's Invoke API and Step Functions'
      StartExecution (default: the local addresses, image demo-image); prints
      'sagemaker=URL receiver=URL lambda=URL sfn=URL' once all listen. --tls-ca: https
      everywhere, with a new throw-away CA written to PATH (CDK's framework PUTs its answer
      to port 443: --receiver 127.0.0.1:443). --function: runs that binary under the Lambda
      stand-in with the local environment, its logs on stderr; Ctrl-C or SIGTERM stops all
  standins demo --function PATH [--show-logs] [EVENT.json...]
      drives the function through the events (default: the lifecycle of events/), printing each answer
  standins addrs              the local addresses, one 'NAME HOST:PORT' a line (sagemaker, receiver, lambda, sfn, invoke)
  standins env                the function's environment for local runs, one KEY=VALUE a line
  standins events [--dir D]   the event files of D (default events) in lifecycle order; fails on any left out
  standins clear-answers      makes the receiver forget the answers it got
  standins answer [--check] EVENT.json
      waits for the event's answer at the receiver and prints it; --check compares it with the
      lifecycle's expectation and prints 'STATUS PHYSICAL-ID' instead
  standins end-state [--template PATH]
      fails if a version the lifecycle created is left, or if the function called a SageMaker
      action that the template's FunctionRole does not grant (default template.yaml)";

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
    let (command, rest) = args.split_first().map_or(("", &[][..]), |(c, r)| (c.as_str(), r));
    let result = match command {
        "serve" => runtime.block_on(serve::run(rest)),
        "demo" => runtime.block_on(demo::run(rest)),
        "addrs" => no_args(rest).map(|()| print_lines(addrs())),
        "env" => no_args(rest).map(|()| print_lines(env_lines())),
        "events" => events(rest),
        "clear-answers" => no_args(rest).and_then(|()| runtime.block_on(checks::clear_answers())),
        "answer" => runtime.block_on(checks::answer(rest)),
        "end-state" => runtime.block_on(checks::end_state(rest)),
        "-h" | "--help" | "help" => {
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

fn no_args(args: &[String]) -> Result<(), String> {
    match args.first() {
        Some(other) => Err(format!("unexpected argument {other}\n{USAGE}")),
        None => Ok(()),
    }
}

fn print_lines(lines: Vec<String>) -> ExitCode {
    for line in lines {
        println!("{line}");
    }
    ExitCode::SUCCESS
}

pub(crate) fn value<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

pub(crate) fn parse_ms(s: &str) -> Result<Duration, String> {
    s.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|e| format!("bad milliseconds {s}: {e}"))
}

fn addrs() -> Vec<String> {
    vec![
        format!("sagemaker {}", local::SAGEMAKER_ADDR),
        format!("receiver {}", local::RECEIVER_ADDR),
        format!("lambda {}", local::LAMBDA_ADDR),
        format!("sfn {}", local::SFN_ADDR),
        format!("invoke 127.0.0.1:{}", local::INVOKE_PORT),
    ]
}

/// The function's environment against the SageMaker stand-in at `sagemaker_endpoint`,
/// with `RUST_LOG` passed on (default info).
pub(crate) fn function_env(sagemaker_endpoint: &str) -> Vec<(String, String)> {
    let mut env = local::function_env(sagemaker_endpoint);
    let rust_log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    env.push(("RUST_LOG".to_owned(), rust_log));
    env
}

/// The SageMaker stand-in of the local runs, as `standins serve` starts it by default.
pub(crate) fn local_sagemaker_endpoint() -> String {
    format!("http://{}", local::SAGEMAKER_ADDR)
}

fn env_lines() -> Vec<String> {
    function_env(&local_sagemaker_endpoint())
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

fn events(args: &[String]) -> Result<ExitCode, String> {
    let dir = match args {
        [] => local::EVENTS_DIR,
        [flag, dir] if flag == "--dir" => dir.as_str(),
        _ => return Err(format!("expected [--dir DIR]\n{USAGE}")),
    };
    let files = local::lifecycle_files(Path::new(dir))?;
    Ok(print_lines(files.iter().map(|f| f.display().to_string()).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_addresses_are_distinct_loopback_ports_under_the_names_the_scripts_read() {
        let lines = addrs();
        let addrs: Vec<(&str, std::net::SocketAddr)> = lines
            .iter()
            .map(|line| line.split_once(' ').expect("NAME ADDR"))
            .map(|(name, addr)| (name, addr.parse().expect("HOST:PORT")))
            .collect();
        let ports: std::collections::BTreeSet<u16> = addrs.iter().map(|(_, a)| a.port()).collect();
        assert_eq!(ports.len(), addrs.len(), "{addrs:?}");
        assert!(addrs.iter().all(|(_, a)| a.ip().is_loopback()), "{addrs:?}");
        // scripts/local-common.sh (load_addrs) reads these.
        for name in ["sagemaker", "receiver", "invoke"] {
            assert!(addrs.iter().any(|(n, _)| *n == name), "no {name} in {addrs:?}");
        }
    }

    #[test]
    fn env_lines_point_the_function_at_the_local_sagemaker_one_exportable_pair_a_line() {
        let lines = env_lines();
        for line in &lines {
            let (name, value) = line.split_once('=').expect("NAME=VALUE");
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{line}"
            );
            assert!(!value.contains('\n'), "{line}");
        }
        assert!(lines.contains(&format!("AWS_ENDPOINT_URL_SAGEMAKER={}", local_sagemaker_endpoint())));
        assert!(lines.iter().any(|line| line.starts_with("RUST_LOG=")));
    }
}
