//! `CreateImageVersion`: a new version, `CREATING` for the configured delay,
//! then `CREATED` (or `CREATE_FAILED` when a failure was armed). A `ClientToken`
//! seen before answers that version again and creates nothing.

use std::time::Instant;

use serde_json::{Value, json};

use crate::sagemaker::errors::ApiError;
use crate::sagemaker::input::Input;
use crate::sagemaker::state::{Phase, State, Version, image_version_arn};

pub(super) fn create_image_version(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let base_image = input.base_image()?;
    let client_token = input.client_token()?;
    let image = input.image_name()?;
    let aliases = input.alias_list("Aliases")?;
    let meta = input.meta()?;

    let (create_delay, limit) = (st.create_delay, st.version_limit);
    let img = st.image(region, &image)?;
    if let Some(v) = img.versions.values().find(|v| v.client_token == client_token) {
        return Ok(json!({"ImageVersionArn": image_version_arn(region, &image, v.number)}));
    }
    if img.versions.values().any(|v| matches!(v.phase, Phase::Creating { .. })) {
        return Err(ApiError::in_use("Resource was modified concurrently"));
    }
    if let Some(limit) = limit
        && img.versions.len() >= limit
    {
        return Err(ApiError::new(
            "ResourceLimitExceeded",
            format!("Image {image} already has the maximum number of versions ({limit})"),
        ));
    }
    for a in &aliases {
        if let Some(holder) = img.alias_holder(a) {
            return Err(ApiError::validation(format!(
                "Alias {a} is already associated with version {holder} of image {image}"
            )));
        }
    }

    let fail = st.fail_creations.pop_front();
    let creating = Phase::Creating {
        until: Instant::now() + create_delay,
        fail,
    };
    let number = st.image_entry(region, &image).push(|number| Version {
        meta,
        aliases: aliases.into_iter().collect(),
        ..Version::new(number, base_image, client_token, creating)
    });
    Ok(json!({"ImageVersionArn": image_version_arn(region, &image, number)}))
}
