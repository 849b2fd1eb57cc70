//! Step Functions' `StartExecution`: recorded and answered, nothing run.

use std::time::Duration;

use serde_json::{Value, json};
use standins::StepFunctionsStandIn;

use crate::client::*;

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:waiter";

/// A `StartExecution` call signed for `service`.
async fn start_execution(sfn: &StepFunctionsStandIn, service: &str, body: &Value) -> RawResponse {
    let auth = auth_for("us-east-1", service);
    let headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("X-Amz-Target", "AWSStepFunctions.StartExecution"),
        ("Authorization", auth.as_str()),
    ];
    let body = serde_json::to_vec(body).unwrap();
    request(&host_of(&sfn.endpoint()), "POST", "/", &headers, &body).await
}

fn assert_sfn_error(r: &RawResponse, code: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.header("x-amzn-errortype"), Some(code));
    assert_eq!(r.json()["__type"], code);
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
}

#[tokio::test]
async fn start_execution_is_recorded_and_answered_with_the_execution_arn_and_start_date() {
    let sfn = StepFunctionsStandIn::start().await;
    let waiter = {
        let sfn = sfn.clone();
        tokio::spawn(async move { sfn.wait_for_executions(1, Duration::from_secs(5)).await })
    };
    let body = json!({"stateMachineArn": MACHINE, "name": "req-1", "input": "{\"a\":1}"});
    let r = start_execution(&sfn, "states", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
    let out = r.json();
    assert_eq!(
        out["executionArn"],
        "arn:aws:states:us-east-1:123456789012:execution:waiter:req-1"
    );
    assert!(out["startDate"].as_f64().unwrap() > 1.7e9, "epoch seconds: {out}");
    let executions = waiter.await.unwrap().expect("the waiter sees the execution");
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].state_machine_arn, MACHINE);
    assert_eq!(executions[0].name, "req-1");
    assert_eq!(executions[0].input.as_deref(), Some("{\"a\":1}"));
    assert_eq!(executions[0].execution_arn, out["executionArn"]);
}

#[tokio::test]
async fn an_execution_without_a_name_gets_a_unique_one() {
    let sfn = StepFunctionsStandIn::start().await;
    for _ in 0..2 {
        let r = start_execution(&sfn, "states", &json!({"stateMachineArn": MACHINE})).await;
        assert_eq!(r.status, 200);
    }
    let executions = sfn.executions();
    assert_ne!(executions[0].name, executions[1].name);
    assert!(
        executions[0]
            .execution_arn
            .ends_with(&format!(":waiter:{}", executions[0].name))
    );
    assert_eq!(executions[0].input, None);
}

#[tokio::test]
async fn a_call_needs_a_states_signature_and_the_start_execution_target() {
    let sfn = StepFunctionsStandIn::start().await;
    let body = json!({"stateMachineArn": MACHINE});
    assert_sfn_error(
        &start_execution(&sfn, "lambda", &body).await,
        "MissingAuthenticationTokenException",
    );
    let auth = auth_for("us-east-1", "states");
    let headers = [
        ("X-Amz-Target", "AWSStepFunctions.StopExecution"),
        ("Authorization", auth.as_str()),
    ];
    let r = request(&host_of(&sfn.endpoint()), "POST", "/", &headers, b"{}").await;
    assert_sfn_error(&r, "UnknownOperationException");
    assert!(sfn.executions().is_empty());
}

#[tokio::test]
async fn a_missing_or_malformed_state_machine_arn_is_refused() {
    let sfn = StepFunctionsStandIn::start().await;
    assert_sfn_error(
        &start_execution(&sfn, "states", &json!({})).await,
        "ValidationException",
    );
    let lambda_arn = json!({"stateMachineArn": "arn:aws:lambda:us-east-1:123456789012:function:f"});
    assert_sfn_error(&start_execution(&sfn, "states", &lambda_arn).await, "InvalidArn");
    assert!(sfn.executions().is_empty());
    assert!(sfn.wait_for_executions(1, Duration::from_millis(20)).await.is_none());
}

#[tokio::test]
async fn the_admin_route_lists_the_executions() {
    let sfn = StepFunctionsStandIn::start().await;
    let body = json!({"stateMachineArn": MACHINE, "name": "n", "input": "{}"});
    start_execution(&sfn, "states", &body).await;
    let r = request(&host_of(&sfn.endpoint()), "GET", "/_sfn/executions", &[], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!([{
            "stateMachineArn": MACHINE,
            "name": "n",
            "input": "{}",
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:waiter:n",
        }])
    );
}
