//! The operations the stand-in serves: exactly those the function calls, one
//! file each. Each takes the (locked) state, the region from the credential
//! scope and the request's members, and returns the response body.

mod create_image_version;
mod delete_image_version;
mod describe_image_version;
mod list_aliases;
mod update_image_version;

use serde_json::Value;

use super::errors::ApiError;
use super::input::Input;
use super::state::State;

pub(crate) type Operation = fn(&mut State, &str, &Input<'_>) -> Result<Value, ApiError>;

/// What answers `X-Amz-Target: SageMaker.<name>`, by name.
pub(crate) const SERVED: [(&str, Operation); 5] = [
    ("CreateImageVersion", create_image_version::create_image_version),
    ("DescribeImageVersion", describe_image_version::describe_image_version),
    ("UpdateImageVersion", update_image_version::update_image_version),
    ("DeleteImageVersion", delete_image_version::delete_image_version),
    ("ListAliases", list_aliases::list_aliases),
];

pub(crate) fn find(name: &str) -> Option<Operation> {
    SERVED.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
}
