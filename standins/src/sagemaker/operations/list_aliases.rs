//! `ListAliases`: the aliases of an image (or of one version), sorted, filtered
//! to `Alias` when given, in pages of `MaxResults` (capped by the configured
//! page size, to force pagination in tests).

use serde_json::{Map, Value, json};

use crate::sagemaker::errors::ApiError;
use crate::sagemaker::input::Input;
use crate::sagemaker::state::State;

/// `NextToken` is `aliases-<offset>`.
const TOKEN_KIND: &str = "aliases";

pub(super) fn list_aliases(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let image = input.image_name();
    let alias = input.alias("Alias");
    let version = input.version();
    let max = input.max_results();
    let offset = input.next_token(TOKEN_KIND)?;

    let page = max.min(st.alias_page_size.unwrap_or(usize::MAX)).max(1);
    let img = st.image(region, &image)?;
    let mut items: Vec<String> = match version {
        Some(n) => {
            let v = img
                .versions
                .get(&n)
                .ok_or_else(|| ApiError::not_found(format!("Image version {n} of image {image} does not exist")))?;
            v.aliases.iter().cloned().collect()
        }
        None => img.versions.values().flat_map(|v| v.aliases.iter().cloned()).collect(),
    };
    items.sort();
    if let Some(a) = &alias {
        items.retain(|x| x == a);
    }

    let end = (offset + page).min(items.len());
    let mut out = Map::new();
    out.insert(
        "SageMakerImageVersionAliases".into(),
        json!(items.get(offset..end).unwrap_or(&[])),
    );
    if end < items.len() {
        out.insert("NextToken".into(), json!(format!("{TOKEN_KIND}-{end}")));
    }
    Ok(Value::Object(out))
}
