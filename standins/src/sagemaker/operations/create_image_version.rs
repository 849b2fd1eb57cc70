//! `CreateImageVersion`: a new version, `CREATING` for the configured delay,
//! then `CREATED` (or `CREATE_FAILED` when a failure was armed). A `ClientToken`
//! seen before with the same parameters answers that version again and creates
//! nothing; with other parameters it is refused.

use std::time::Instant;

use serde_json::{Value, json};

use crate::sagemaker::errors::ApiError;
use crate::sagemaker::input::Input;
use crate::sagemaker::state::{CreateRequest, Minted, Phase, State, Version, image_version_arn};

pub(super) fn create_image_version(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let client_token = input.client_token();
    let aliases = input.alias_list("Aliases")?;
    let request = CreateRequest {
        image_name: input.image_name(),
        base_image: input.base_image(),
        aliases: aliases.iter().cloned().collect(),
        meta: input.meta(),
    };

    if let Some(first) = st.minted(region, &client_token) {
        let arn = image_version_arn(region, &first.request.image_name, first.number);
        let differ = first.request.differences(&request);
        if differ.is_empty() {
            return Ok(json!({"ImageVersionArn": arn}));
        }
        // An idempotency token reused for another request is refused, as AWS
        // does (EC2: `IdempotentParameterMismatch`). SageMaker's model has no
        // such error, so it is the `ValidationException` every SageMaker
        // operation may answer: a code the service really sends, which the
        // SDK and the function treat as a refusal not worth retrying.
        return Err(ApiError::validation(format!(
            "ClientToken '{client_token}' was already used with different parameters (in {}) by the request that created {arn}",
            differ.join(", ")
        )));
    }

    let image = request.image_name.clone();
    let (create_delay, limit) = (st.create_delay, st.version_limit);
    let img = st.image(region, &image)?;
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
        meta: request.meta.clone(),
        aliases: request.aliases.clone(),
        ..Version::new(number, request.base_image.clone(), client_token.clone(), creating)
    });
    st.tokens
        .insert((region.to_string(), client_token), Minted { request, number });
    Ok(json!({"ImageVersionArn": image_version_arn(region, &image, number)}))
}
