//! `DescribeImageVersion`: the version named by `Version` or `Alias` (the
//! latest when neither), with only the optional members that are set.

use serde_json::{Map, Value, json};

use crate::http::epoch_secs;
use crate::sagemaker::errors::ApiError;
use crate::sagemaker::input::Input;
use crate::sagemaker::state::{State, image_arn, image_version_arn};

pub(super) fn describe_image_version(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let image = input.image_name();
    let version = input.version();
    let alias = input.alias("Alias");
    let v = st.image(region, &image)?.resolve(&image, version, alias.as_deref())?;

    let mut out = Map::new();
    out.insert("BaseImage".into(), json!(v.base_image));
    out.insert("ContainerImage".into(), json!(v.container_image));
    out.insert("CreationTime".into(), json!(epoch_secs(v.created)));
    if let Some(r) = v.phase.failure_reason() {
        out.insert("FailureReason".into(), json!(r));
    }
    out.insert("ImageArn".into(), json!(image_arn(region, &image)));
    out.insert(
        "ImageVersionArn".into(),
        json!(image_version_arn(region, &image, v.number)),
    );
    out.insert("ImageVersionStatus".into(), json!(v.phase.status()));
    out.insert("LastModifiedTime".into(), json!(epoch_secs(v.last_modified)));
    out.insert("Version".into(), json!(v.number));
    let m = &v.meta;
    for (k, v) in [
        ("VendorGuidance", &m.vendor_guidance),
        ("JobType", &m.job_type),
        ("MLFramework", &m.ml_framework),
        ("ProgrammingLang", &m.programming_lang),
        ("Processor", &m.processor),
        ("ReleaseNotes", &m.release_notes),
    ] {
        if let Some(v) = v {
            out.insert(k.into(), json!(v));
        }
    }
    if let Some(h) = m.horovod {
        out.insert("Horovod".into(), json!(h));
    }
    Ok(Value::Object(out))
}
