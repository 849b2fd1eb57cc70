//! What CDK's `onEvent` tells its `isComplete`: one field of `onEvent`'s
//! result, which the framework passes on in every `isComplete` input.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The top-level field that carries it, and by which an `isComplete` call
/// is told from an `onEvent` one.
const FIELD: &str = "SageMakerImageVersion";

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Handover {
    /// The id the request arrived with: `isComplete`'s input carries
    /// `onEvent`'s instead (for a replacement, the new version's).
    pub(crate) physical_resource_id: Option<String>,
    /// `onEvent` finished the work: `isComplete` has nothing to ask.
    pub(crate) complete: bool,
    /// When `onEvent` ran. A handover without it (from an older version of
    /// the function) never gives up early.
    #[serde(default, with = "crate::deadline::epoch_ms::option", rename = "StartedMs")]
    started: Option<SystemTime>,
}

/// An `isComplete` input whose handover this function did not write.
#[derive(Debug, thiserror::Error)]
#[error("the {FIELD} field of isComplete's input is not ours: {0}")]
pub(crate) struct NotOurs(serde_json::Error);

impl Handover {
    /// The handover of an `isComplete` input; `None` for `onEvent`'s.
    pub(crate) fn of(event: &Value) -> Result<Option<Self>, NotOurs> {
        event
            .get(FIELD)
            .map(|h| Handover::deserialize(h).map_err(NotOurs))
            .transpose()
    }

    /// `onEvent`'s result for a request that arrived with `original_id`:
    /// the id to answer, the attributes when done, and the handover.
    pub(crate) fn result(
        physical_resource_id: &str,
        data: Option<&BTreeMap<String, String>>,
        original_id: Option<String>,
    ) -> Value {
        let handover = Handover {
            physical_resource_id: original_id,
            complete: data.is_some(),
            started: Some(SystemTime::now()),
        };
        let mut result = json!({ "PhysicalResourceId": physical_resource_id, FIELD: handover });
        if let Some(data) = data {
            result["Data"] = json!(data);
        }
        result
    }

    /// Whether `after` has passed since `onEvent` ran.
    pub(crate) fn gives_up(&self, after: Option<Duration>) -> bool {
        after
            .zip(self.started)
            .is_some_and(|(after, started)| SystemTime::now().duration_since(started).unwrap_or_default() >= after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_is_complete_input_carries_the_handover_of_on_event_s_result() {
        let result = Handover::result("arn-2", None, Some("arn-1".into()));
        let handover = Handover::of(&result).unwrap().unwrap();
        assert_eq!(handover.physical_resource_id.as_deref(), Some("arn-1"));
        assert!(!handover.complete);
        assert!(result.get("Data").is_none());
        assert_eq!(Handover::of(&json!({"RequestType": "Create"})).unwrap(), None);
        assert!(Handover::of(&json!({ FIELD: 3 })).is_err());
    }

    #[test]
    fn a_handover_without_its_start_never_gives_up() {
        let old: Handover = serde_json::from_value(json!({"PhysicalResourceId": null, "Complete": false})).unwrap();
        assert!(!old.gives_up(Some(Duration::ZERO)));
        let new = Handover::of(&Handover::result("a", None, None)).unwrap().unwrap();
        assert!(new.gives_up(Some(Duration::ZERO)));
        assert!(!new.gives_up(None));
    }
}
