//! `UpdateImageVersion`: moves aliases onto or off a `CREATED` version and sets
//! the metadata members given (the others keep their values).

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::sagemaker::errors::ApiError;
use crate::sagemaker::input::Input;
use crate::sagemaker::state::{Phase, State, image_version_arn};

pub(super) fn update_image_version(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let image = input.image_name();
    let version = input.version();
    let alias = input.alias("Alias");
    let to_add = input.alias_list("AliasesToAdd")?;
    let to_delete = input.alias_list("AliasesToDelete")?;
    if let Some(a) = to_add.iter().find(|a| to_delete.contains(a)) {
        return Err(ApiError::validation(format!(
            "Alias {a} cannot be in both AliasesToAdd and AliasesToDelete"
        )));
    }
    let meta = input.meta();

    let img = st.image(region, &image)?;
    let number = img.resolve(&image, version, alias.as_deref())?.number;
    for a in &to_add {
        if let Some(holder) = img.alias_holder(a)
            && holder != number
        {
            return Err(ApiError::validation(format!(
                "Alias {a} is already associated with version {holder} of image {image}"
            )));
        }
    }
    let v = img.versions.get_mut(&number).expect("resolved version exists");
    if !matches!(v.phase, Phase::Created) {
        return Err(ApiError::in_use(format!(
            "Image version {} is in status {} and cannot be updated",
            image_version_arn(region, &image, number),
            v.phase.status()
        )));
    }
    if let Some(a) = to_delete.iter().find(|a| !v.aliases.contains(*a)) {
        return Err(ApiError::validation(format!(
            "Alias {a} is not associated with version {number} of image {image}"
        )));
    }
    for a in &to_delete {
        v.aliases.remove(a);
    }
    v.aliases.extend(to_add);
    v.meta.update(meta);
    v.last_modified = SystemTime::now();
    Ok(json!({"ImageVersionArn": image_version_arn(region, &image, number)}))
}
