//! The function's own settings, read once at start from its environment,
//! with one rule for every flag (`true` or `false`, any case). A bad value
//! is an error naming the variable and what it takes: the function then
//! answers every request FAILED with it, instead of running on a guess.
//! (The log settings are read before anything else, in `logging`; the AWS
//! ones by `aws-config`'s default chain.)

use std::time::Duration;

pub(crate) const PROVIDER_FRAMEWORK: &str = "PROVIDER_FRAMEWORK";
pub(crate) const PROVIDER_GIVE_UP_SECONDS: &str = "PROVIDER_GIVE_UP_SECONDS";
pub(crate) const CFN_HAND_OFF: &str = "CFN_HAND_OFF";
pub(crate) const CFN_ALLOW_LOOPBACK_RESPONSE_URL: &str = "CFN_ALLOW_LOOPBACK_RESPONSE_URL";

/// Which protocol the function serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The function CloudFormation invokes: it PUTs the answer.
    Direct,
    /// CDK's Provider framework's `onEvent` and `isComplete` (`cdk`).
    Provider,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) mode: Mode,
    /// Provider mode: how long after `onEvent` an `isComplete` FAILS.
    pub(crate) give_up_after: Option<Duration>,
    /// Whether a request still waiting near the deadline goes on in a new
    /// invocation (else it answers FAILED "timed out").
    pub(crate) hand_off: bool,
    /// Whether a plain-http ResponseURL to a loopback address is taken
    /// (local runs and tests only).
    pub(crate) allow_loopback_response_url: bool,
}

/// A setting the function cannot run with; the Reason of every answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the function's environment variable {name}={value:?} is invalid: it takes {takes}; fix it in the function's configuration"
)]
pub(crate) struct ConfigError {
    name: &'static str,
    value: String,
    takes: &'static str,
}

impl Config {
    pub(crate) fn from_env() -> (Config, Option<ConfigError>) {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// From `var`, which gives a variable's value when it is set: the
    /// configuration, each bad value at its default, and the first error.
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> (Config, Option<ConfigError>) {
        let mut errors = Vec::new();
        let flag = |v: &str| {
            ["false", "true"]
                .iter()
                .position(|b| v.eq_ignore_ascii_case(b))
                .map(|i| i == 1)
        };
        let config = Config {
            mode: read(
                &var,
                &mut errors,
                PROVIDER_FRAMEWORK,
                "cdk, or no value at all",
                Mode::Direct,
                |v| v.eq_ignore_ascii_case("cdk").then_some(Mode::Provider),
            ),
            give_up_after: read(
                &var,
                &mut errors,
                PROVIDER_GIVE_UP_SECONDS,
                "whole seconds, 1 or more",
                None,
                |v| {
                    v.parse::<u64>()
                        .ok()
                        .filter(|s| *s > 0)
                        .map(|s| Some(Duration::from_secs(s)))
                },
            ),
            hand_off: read(&var, &mut errors, CFN_HAND_OFF, "true or false", true, flag),
            allow_loopback_response_url: read(
                &var,
                &mut errors,
                CFN_ALLOW_LOOPBACK_RESPONSE_URL,
                "true or false",
                false,
                flag,
            ),
        };
        (config, errors.into_iter().next())
    }
}

/// One variable: `parse` of its value, `default` when it is unset or does
/// not parse (then the error is noted).
fn read<T>(
    var: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
    name: &'static str,
    takes: &'static str,
    default: T,
    parse: impl Fn(&str) -> Option<T>,
) -> T {
    let Some(value) = var(name) else {
        return default;
    };
    parse(&value).unwrap_or_else(|| {
        errors.push(ConfigError { name, value, takes });
        default
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Every variable [`Config`] reads.
    const VARIABLES: [&str; 4] = [
        CFN_ALLOW_LOOPBACK_RESPONSE_URL,
        CFN_HAND_OFF,
        PROVIDER_FRAMEWORK,
        PROVIDER_GIVE_UP_SECONDS,
    ];

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        match Config::from_vars(|name| vars.get(name).cloned()) {
            (config, None) => Ok(config),
            (_, Some(error)) => Err(error),
        }
    }

    #[test]
    fn an_empty_environment_serves_cloudformation_directly_with_hand_offs() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config,
            Config {
                mode: Mode::Direct,
                give_up_after: None,
                hand_off: true,
                allow_loopback_response_url: false,
            }
        );
    }

    #[test]
    fn every_flag_takes_true_or_false_in_any_case_and_nothing_else() {
        assert!(!config(&[(CFN_HAND_OFF, "FALSE")]).unwrap().hand_off);
        assert!(
            config(&[(CFN_ALLOW_LOOPBACK_RESPONSE_URL, "True")])
                .unwrap()
                .allow_loopback_response_url
        );
        for odd in ["0", "no", "off", "yes", ""] {
            let err = config(&[(CFN_HAND_OFF, odd)]).unwrap_err().to_string();
            assert!(err.contains("CFN_HAND_OFF") && err.contains("true or false"), "{err}");
        }
    }

    #[test]
    fn a_bad_value_leaves_the_other_settings_as_they_are() {
        let vars = [(CFN_HAND_OFF, "no"), (CFN_ALLOW_LOOPBACK_RESPONSE_URL, "true")];
        let (config, error) =
            Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()));
        assert!(error.is_some());
        assert!(config.hand_off && config.allow_loopback_response_url, "{config:?}");
    }

    #[test]
    fn a_bad_value_names_the_variable_and_what_it_takes() {
        let err = config(&[(PROVIDER_GIVE_UP_SECONDS, "soon")]).unwrap_err().to_string();
        assert!(
            err.contains("PROVIDER_GIVE_UP_SECONDS=\"soon\"") && err.contains("whole seconds"),
            "{err}"
        );
        let err = config(&[(PROVIDER_FRAMEWORK, "sam")]).unwrap_err().to_string();
        assert!(err.contains("PROVIDER_FRAMEWORK=\"sam\""), "{err}");
        assert_eq!(config(&[(PROVIDER_FRAMEWORK, "CDK")]).unwrap().mode, Mode::Provider);
    }

    #[test]
    fn the_docs_configuration_table_lists_exactly_the_variables_read() {
        let docs = include_str!("../docs/operations.md");
        let table = docs.split("## Configuration").nth(1).expect("a Configuration section");
        let listed: Vec<&str> = table
            .lines()
            .skip_while(|l| !l.starts_with("| Variable"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('`').nth(1))
            .filter_map(|cell| cell.split('=').next())
            .filter(|name| !name.starts_with("RUST_LOG") && !name.starts_with("AWS_LAMBDA_LOG"))
            .collect();
        let mut read = VARIABLES.to_vec();
        read.sort_unstable();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort_unstable();
        assert_eq!(
            listed_sorted, read,
            "docs/operations.md's Configuration table and config::VARIABLES differ"
        );
    }
}
