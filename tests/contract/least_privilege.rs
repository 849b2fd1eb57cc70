//! Least privilege: the function's IAM policy in template.yaml grants exactly
//! the actions the code calls: SageMaker's on image and image-version ARNs
//! only, Lambda's on the function itself only; and the code calls no action
//! the policy lacks.
//!
//! The called actions are derived from the source: every `client.<op>()`
//! builder call under src/, of the SDK the file uses (`aws_sdk_<service>`),
//! as an IAM action. The five SageMaker operations the README names are
//! written out once more here, on purpose: an independent oracle on the scan.
//!
//! YAML: yaml-rust2's loader keeps the scalar of a CloudFormation short tag
//! (`!Sub x` loads as the string `x`, `!GetAtt A.B` as `A.B`, `!FindInMap
//! [..]` as the list) and drops the tag, which is all this test needs.

use std::collections::BTreeSet;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml");
    let mut docs = YamlLoader::load_from_str(&text).expect("template.yaml is YAML");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

/// `x` or `[x, y]` as a list of strings.
fn strings(node: &Yaml) -> Vec<String> {
    match node {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(items) => items.iter().flat_map(strings).collect(),
        Yaml::BadValue => Vec::new(),
        other => panic!("expected a string or a list of strings, found {other:?}"),
    }
}

/// Every IAM statement in the template: inline role policies, policy
/// resources, and SAM `Policies` on functions.
fn statements(template: &Yaml) -> Vec<(String, Yaml)> {
    let resources = template["Resources"].as_hash().expect("Resources");
    let mut found = Vec::new();
    let mut take = |owner: &str, document: &Yaml| {
        if let Some(list) = document["Statement"].as_vec() {
            found.extend(list.iter().map(|s| (owner.to_owned(), s.clone())));
        }
    };
    for (name, resource) in resources {
        let name = name.as_str().unwrap_or_default();
        let properties = &resource["Properties"];
        match resource["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => {
                for policy in properties["Policies"].as_vec().into_iter().flatten() {
                    take(name, &policy["PolicyDocument"]);
                }
                for managed in strings(&properties["ManagedPolicyArns"]) {
                    assert!(
                        !managed.to_ascii_lowercase().contains("sagemaker"),
                        "{name}: managed policy {managed} is broader than the actions the code calls"
                    );
                }
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => take(name, &properties["PolicyDocument"]),
            "AWS::Serverless::Function" => {
                for policy in properties["Policies"].as_vec().into_iter().flatten() {
                    if let Some(doc) = policy["Statement"].as_vec().map(|_| policy) {
                        take(name, doc);
                    } else {
                        panic!("{name}: SAM policy template or managed policy {policy:?}: not least privilege");
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// `create_image_version` → `CreateImageVersion`.
fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The IAM actions the code calls: `client.<op>()` in every file under src/,
/// of the service whose SDK the file uses.
pub fn called_actions() -> BTreeSet<String> {
    let mut files = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut actions = BTreeSet::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            let Some(service) = ["sagemaker", "lambda"]
                .into_iter()
                .find(|s| source.contains(&format!("aws_sdk_{s}::")))
            else {
                continue;
            };
            actions.extend(
                actions_called_in(&source)
                    .into_iter()
                    .map(|op| iam_action(service, &op)),
            );
        }
    }
    actions
}

/// The IAM action of an SDK operation: Lambda's `Invoke` is `InvokeFunction`.
fn iam_action(service: &str, operation: &str) -> String {
    match (service, operation) {
        ("lambda", "Invoke") => "lambda:InvokeFunction".to_owned(),
        _ => format!("{service}:{operation}"),
    }
}

/// The SageMaker operations the code calls, without the prefix.
pub fn called_sagemaker_operations() -> BTreeSet<String> {
    called_actions()
        .into_iter()
        .filter_map(|a| a.strip_prefix("sagemaker:").map(str::to_owned))
        .collect()
}

/// The operations `source` calls as `client.<op>()`, in PascalCase, with
/// whitespace and line breaks allowed between the parts (as rustfmt splits
/// a builder chain).
fn actions_called_in(source: &str) -> BTreeSet<String> {
    let text: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    let mut actions = BTreeSet::new();
    for (at, _) in text.match_indices("client.") {
        let rest = &text[at + "client.".len()..];
        let op: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !op.is_empty() && rest[op.len()..].starts_with("()") && op != "clone" {
            actions.insert(pascal_case(&op));
        }
    }
    actions
}

fn statements_of(service: &str) -> Vec<(String, Yaml)> {
    let prefix = format!("{service}:");
    statements(&template())
        .into_iter()
        .filter(|(_, s)| strings(&s["Action"]).iter().any(|a| a.starts_with(&prefix)))
        .collect()
}

fn sagemaker_statements() -> Vec<(String, Yaml)> {
    statements_of("sagemaker")
}

#[test]
fn the_code_calls_the_five_image_version_operations() {
    let called = called_sagemaker_operations();
    let expected: BTreeSet<String> = [
        "CreateImageVersion",
        "DeleteImageVersion",
        "DescribeImageVersion",
        "ListAliases",
        "UpdateImageVersion",
    ]
    .map(String::from)
    .into();
    assert_eq!(called, expected, "the scan of src/ finds these SageMaker calls");
}

#[test]
fn the_policy_grants_exactly_the_actions_the_code_calls() {
    let mut granted = BTreeSet::new();
    for service in ["sagemaker", "lambda"] {
        for (owner, statement) in statements_of(service) {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{owner}: {statement:?}");
            for action in strings(&statement["Action"]) {
                assert!(
                    action.starts_with(&format!("{service}:")),
                    "{owner}: {action} shares a statement with {service} actions"
                );
                assert!(
                    !action.contains('*') && !action.contains('?'),
                    "{owner}: wildcard action {action}"
                );
                granted.insert(action);
            }
        }
    }
    let called = called_actions();
    let missing: Vec<_> = called.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&called).collect();
    assert!(
        missing.is_empty(),
        "the code calls actions the policy lacks: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "the policy grants actions the code never calls: {extra:?}"
    );
}

#[test]
fn sagemaker_actions_are_scoped_to_image_and_image_version_arns() {
    let statements = sagemaker_statements();
    assert!(!statements.is_empty(), "the template grants SageMaker actions");
    let mut kinds = BTreeSet::new();
    for (owner, statement) in statements {
        assert!(
            statement["NotResource"].is_badvalue() && statement["NotAction"].is_badvalue(),
            "{owner}: NotResource/NotAction grant too much"
        );
        let resources = strings(&statement["Resource"]);
        assert!(!resources.is_empty(), "{owner}: no Resource");
        for resource in resources {
            assert_ne!(resource, "*", "{owner}: Resource \"*\"");
            // The pseudo parameters hold colons: name them before splitting.
            let arn = resource
                .replace("${AWS::Partition}", "PARTITION")
                .replace("${AWS::AccountId}", "ACCOUNT")
                .replace("${AWS::Region}", "REGION");
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            assert_eq!(parts.len(), 6, "{owner}: {resource} is not an ARN");
            assert_eq!(parts[0], "arn");
            assert_eq!(parts[1], "PARTITION", "{owner}: {resource}");
            assert_eq!(parts[2], "sagemaker", "{owner}: {resource}");
            assert!(["*", "REGION"].contains(&parts[3]), "{owner}: {resource}");
            assert_eq!(parts[4], "ACCOUNT", "{owner}: {resource}: the account's own");
            assert!(
                ["image/*", "image-version/*"].contains(&parts[5]),
                "{owner}: {resource}: only image/* and image-version/*"
            );
            kinds.insert(parts[5].to_owned());
        }
    }
    assert_eq!(kinds.len(), 2, "both image/* and image-version/* are granted");
}

#[test]
fn no_statement_in_the_template_allows_every_action_or_every_resource_for_sagemaker() {
    for (owner, statement) in statements(&template()) {
        let actions = strings(&statement["Action"]);
        assert!(
            !actions
                .iter()
                .any(|a| a == "*" || a.eq_ignore_ascii_case("sagemaker:*")),
            "{owner}: {actions:?}"
        );
        if statement["Effect"].as_str() == Some("Allow") && strings(&statement["Resource"]).contains(&"*".to_owned()) {
            assert!(
                !actions
                    .iter()
                    .any(|a| a.starts_with("sagemaker:") || a.starts_with("iam:")),
                "{owner}: {actions:?} on every resource"
            );
        }
    }
}

#[test]
fn the_function_may_invoke_itself_only() {
    let statements = statements_of("lambda");
    assert!(!statements.is_empty(), "the template grants the hand-off");
    for (owner, statement) in statements {
        for resource in strings(&statement["Resource"]) {
            assert!(
                resource.ends_with(":function:${AWS::StackName}-provider")
                    || resource.ends_with(":function:${AWS::StackName}-provider:*"),
                "{owner}: {resource} is not the function itself"
            );
        }
    }
    let function = &template()["Resources"]["Function"]["Properties"]["FunctionName"];
    assert_eq!(
        function.as_str(),
        Some("${AWS::StackName}-provider"),
        "the name the ARNs are built from"
    );
}

#[test]
fn the_scan_of_the_source_would_notice_a_new_call() {
    let source = "
        let request = self.client.create_image_version();
        let pages = self
            .client
            .list_aliases()
            .image_name(name)
            .into_paginator();
        let other = self.client.clone();
    ";
    let found: Vec<String> = actions_called_in(source).into_iter().collect();
    assert_eq!(found, ["CreateImageVersion", "ListAliases"]);
}
