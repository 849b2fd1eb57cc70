//! `DeleteImageVersion`: the version named by `Version` or `Alias` goes
//! `DELETING` for the configured delay, then is gone (or `DELETE_FAILED` when a
//! failure was armed). A version still creating or already deleting is in use.

use std::time::{Instant, SystemTime};

use serde_json::{Value, json};

use crate::sagemaker::errors::ApiError;
use crate::sagemaker::input::Input;
use crate::sagemaker::state::{Phase, State, image_version_arn};

pub(super) fn delete_image_version(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let image = input.image_name();
    let version = input.version();
    let alias = input.alias("Alias");
    if version.is_none() && alias.is_none() {
        return Err(ApiError::validation("Either Version or Alias must be specified"));
    }

    let delete_delay = st.delete_delay;
    let number = {
        let v = st.image(region, &image)?.resolve(&image, version, alias.as_deref())?;
        let arn = image_version_arn(region, &image, v.number);
        match v.phase {
            Phase::Deleting { .. } => return Err(ApiError::in_use(format!("Image version {arn} is being deleted"))),
            Phase::Creating { .. } => return Err(ApiError::in_use(format!("Image version {arn} is being created"))),
            _ => v.number,
        }
    };
    let fail = st.fail_deletions.pop_front();
    let v = st
        .image_entry(region, &image)
        .versions
        .get_mut(&number)
        .expect("resolved version exists");
    v.phase = Phase::Deleting {
        until: Instant::now() + delete_delay,
        fail,
    };
    v.last_modified = SystemTime::now();
    Ok(json!({}))
}
