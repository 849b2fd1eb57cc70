//! `standins clear-answers`, `answer` and `end-state`: what a local run under
//! `cargo lambda watch` did, read from the stand-ins of a `standins serve`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use hyper::Method;
use serde_json::Value;
use standins::local::{self, Step};
use yaml_rust2::{Yaml, YamlLoader};

use crate::{USAGE, client};

/// How long `answer` waits for the function's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(60);

pub(crate) async fn clear_answers() -> Result<ExitCode, String> {
    client::post(local::RECEIVER_ADDR, "/_receiver/clear")
        .await
        .map_err(|e| format!("the response receiver did not clear its answers ({e}): is 'make watch' running?"))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn answer(args: &[String]) -> Result<ExitCode, String> {
    let (check, path) = match args {
        [path] if !path.starts_with("--") => (false, Path::new(path)),
        [flag, path] if flag == "--check" => (true, Path::new(path)),
        _ => return Err(format!("expected [--check] EVENT.json\n{USAGE}")),
    };
    let event: Value = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
        .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display())))?;
    let Some(request_id) = event["RequestId"].as_str() else {
        return Err(format!(
            "{} is not a CloudFormation event with a RequestId",
            path.display()
        ));
    };
    let step = match check {
        true => Some(Step::of_file(path).ok_or_else(|| format!("{} is not in the lifecycle", path.display()))?),
        false => None,
    };

    let wait = format!(
        "/_receiver/wait?request_id={}&timeout_ms={}",
        query_escape(request_id),
        ANSWER_WAIT.as_millis()
    );
    let reply = tokio::time::timeout(
        ANSWER_WAIT + Duration::from_secs(10),
        client::call(local::RECEIVER_ADDR, Method::GET, &wait),
    )
    .await
    .map_err(|_| "the response receiver did not answer in time".to_owned())?
    .map_err(|e| format!("the response receiver does not answer ({e}): is 'make watch' running?"))?;
    let put = match reply {
        (200, put) => put,
        (404, _) => {
            eprintln!("no answer reached the receiver for RequestId {request_id} within {ANSWER_WAIT:?}");
            return Ok(ExitCode::FAILURE);
        }
        (status, body) => return Err(format!("the response receiver answered HTTP {status}: {body}")),
    };
    let text = put["Body"].as_str().unwrap_or_default();
    let body = serde_json::from_str::<Value>(text);
    let Some(step) = step else {
        eprintln!(
            "receiver: HTTP {} {} {}",
            put["Status"],
            text_of(&put["Method"]),
            text_of(&put["Path"])
        );
        match body {
            Ok(json) => println!("{}", pretty(&json)),
            Err(_) => println!("{text}"),
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Ok(body) = body else {
        eprintln!("the answer is not JSON: {text:?}");
        return Ok(ExitCode::FAILURE);
    };
    let mismatches = step.expected.mismatches(&event, &body);
    if mismatches.is_empty() {
        println!(
            "{:<8} {}",
            text_of(&body["Status"]),
            text_of(&body["PhysicalResourceId"])
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{}\n{}", pretty(&body), mismatches.join("\n"));
        Ok(ExitCode::FAILURE)
    }
}

pub(crate) async fn end_state(args: &[String]) -> Result<ExitCode, String> {
    let template = match args {
        [] => "template.yaml",
        [flag, path] if flag == "--template" => path.as_str(),
        _ => return Err(format!("expected [--template PATH]\n{USAGE}")),
    };
    let text = std::fs::read_to_string(template).map_err(|e| format!("cannot read {template}: {e}"))?;
    let granted = granted_actions(&text).map_err(|e| format!("{template}: {e}"))?;
    let versions = client::get(
        local::SAGEMAKER_ADDR,
        &format!("/_standin/versions?image={}", query_escape(local::DEMO_IMAGE)),
    )
    .await?;
    let calls = client::get(local::SAGEMAKER_ADDR, "/_standin/calls").await?;
    let operations: Vec<&str> = calls
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|call| call["Operation"].as_str())
        .collect();

    println!("SageMaker calls: {}", call_counts(&operations));
    let mut errors = versions_left(&versions);
    errors.extend(ungranted(&operations, &granted, template));
    for error in &errors {
        eprintln!("{error}");
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The versions the lifecycle created that the stand-in still holds, given
/// its `/_standin/versions` answer.
fn versions_left(versions: &Value) -> Vec<String> {
    let created: BTreeSet<u64> = local::versions_created().map(u64::from).collect();
    versions
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["Version"].as_u64().is_some_and(|n| created.contains(&n)))
        .map(|v| {
            format!(
                "version {} of {} is still there ({})",
                v["Version"],
                local::DEMO_IMAGE,
                text_of(&v["Status"])
            )
        })
        .collect()
}

fn ungranted(operations: &[&str], granted: &BTreeSet<String>, template: &str) -> Vec<String> {
    let called: BTreeSet<&str> = operations.iter().copied().collect();
    called
        .into_iter()
        .filter(|op| !granted.contains(*op))
        .map(|op| format!("the function called SageMaker {op}, which {template} does not grant"))
        .collect()
}

/// `CreateImageVersion x1, DescribeImageVersion x4, ...`
fn call_counts(operations: &[&str]) -> String {
    let mut counts = BTreeMap::new();
    for op in operations {
        *counts.entry(*op).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(op, n)| format!("{op} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SageMaker actions (without `sagemaker:`) that the `Allow` statements
/// of the template's `FunctionRole` grant. yaml-rust2 reads CloudFormation's
/// short tags (`!Sub x`) as their plain value, which is all this needs.
fn granted_actions(template: &str) -> Result<BTreeSet<String>, String> {
    let docs = YamlLoader::load_from_str(template).map_err(|e| format!("not YAML: {e}"))?;
    let role = &docs.first().ok_or("empty")?["Resources"]["FunctionRole"];
    let policies = role["Properties"]["Policies"]
        .as_vec()
        .ok_or("Resources.FunctionRole.Properties.Policies is not a list")?;
    let mut granted = BTreeSet::new();
    for statement in policies
        .iter()
        .filter_map(|policy| policy["PolicyDocument"]["Statement"].as_vec())
        .flatten()
        .filter(|statement| statement["Effect"].as_str() == Some("Allow"))
    {
        let actions = match &statement["Action"] {
            Yaml::Array(list) => list.iter().filter_map(Yaml::as_str).collect(),
            single => single.as_str().into_iter().collect::<Vec<_>>(),
        };
        granted.extend(
            actions
                .into_iter()
                .filter_map(|action| action.strip_prefix("sagemaker:"))
                .map(str::to_owned),
        );
    }
    Ok(granted)
}

fn text_of(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A template's IAM role with one policy of `statements` (YAML flow mappings).
    fn role(statements: &[&str]) -> String {
        format!(
            "
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyDocument:
            Statement: [{}]",
            statements.join(", ")
        )
    }

    #[test]
    fn granted_actions_are_the_sagemaker_actions_allowed_to_the_function_role() {
        let function_role = role(&[
            "{Effect: Allow, Action: [logs:PutLogEvents, sagemaker:ListAliases], Resource: !GetAtt Log.Arn}",
            "{Effect: Allow, Action: sagemaker:CreateImageVersion}",
            "{Effect: Deny, Action: sagemaker:DeleteImageVersion}",
        ]);
        let other_role = role(&["{Effect: Allow, Action: sagemaker:DeleteImage}"]);
        let template = format!("Resources:\n  FunctionRole:{function_role}\n  OtherRole:{other_role}\n");
        let granted = granted_actions(&template).expect("template");
        assert_eq!(
            granted,
            BTreeSet::from(["CreateImageVersion".to_owned(), "ListAliases".to_owned()])
        );
    }

    #[test]
    fn the_projects_template_grants_what_the_local_run_checks_against() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let granted = granted_actions(&std::fs::read_to_string(path).expect("template.yaml")).expect("parses");
        assert!(granted.contains("CreateImageVersion"), "{granted:?}");
    }

    #[test]
    fn a_call_the_template_does_not_grant_is_named() {
        let granted = BTreeSet::from(["ListAliases".to_owned()]);
        assert_eq!(
            ungranted(&["ListAliases", "DeleteImage", "DeleteImage"], &granted, "t.yaml"),
            ["the function called SageMaker DeleteImage, which t.yaml does not grant"]
        );
    }

    #[test]
    fn a_version_the_lifecycle_created_and_the_stand_in_still_holds_is_named() {
        let created: Vec<u32> = local::versions_created().collect();
        let versions = json!([
            {"Version": created[0], "Status": "DELETING"},
            {"Version": 99, "Status": "CREATED"},
        ]);
        assert_eq!(
            versions_left(&versions),
            [format!(
                "version {} of {} is still there (DELETING)",
                created[0],
                local::DEMO_IMAGE
            )]
        );
    }

    #[test]
    fn calls_are_counted_per_operation() {
        assert_eq!(call_counts(&["B", "A", "B"]), "A x1, B x2");
    }

    #[test]
    fn a_query_value_is_percent_encoded() {
        assert_eq!(query_escape("a b/c-1_~."), "a%20b%2Fc-1_~.");
    }

    #[tokio::test]
    async fn the_client_reads_an_admin_routes_json() {
        let standin = standins::SageMakerStandIn::start().await;
        let addr = standin.endpoint().trim_start_matches("http://").to_owned();
        assert_eq!(client::get(&addr, "/_standin/calls").await, Ok(json!([])));
        let (status, _) = client::call(&addr, Method::GET, "/_standin/nothing")
            .await
            .expect("HTTP");
        assert_eq!(status, 404);
    }
}
