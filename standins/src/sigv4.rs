//! The SigV4 `Authorization` header: its signature is not verified, but it must
//! be well formed and its credential scope must name the stand-in's service;
//! the region is taken from that scope.

use hyper::HeaderMap;

/// Returns the region of a well-formed SigV4 `Authorization` header for `service`.
pub(crate) fn auth_region(headers: &HeaderMap, service: &str) -> Result<String, String> {
    let value = headers
        .get("authorization")
        .ok_or("Missing Authentication Token")?
        .to_str()
        .map_err(|_| "Malformed Authorization header")?;
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("Authorization header requires the AWS4-HMAC-SHA256 algorithm")?;
    let (mut credential, mut signed, mut signature) = (None, false, false);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(c) = part.strip_prefix("Credential=") {
            credential = Some(c);
        } else if let Some(s) = part.strip_prefix("SignedHeaders=") {
            signed = !s.is_empty();
        } else if let Some(s) = part.strip_prefix("Signature=") {
            signature = !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        }
    }
    let credential = credential.ok_or("Authorization header requires 'Credential' parameter")?;
    if !signed {
        return Err("Authorization header requires 'SignedHeaders' parameter".into());
    }
    if !signature {
        return Err("Authorization header requires 'Signature' parameter".into());
    }
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0].is_empty() || scope[2].is_empty() || scope[4] != "aws4_request" {
        return Err(format!(
            "Credential should be scoped to a valid region, not '{credential}'"
        ));
    }
    if scope[1].len() != 8 || !scope[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Credential should be scoped to a valid date, not '{}'",
            scope[1]
        ));
    }
    if scope[3] != service {
        return Err(format!(
            "Credential should be scoped to correct service: '{service}', not '{}'",
            scope[3]
        ));
    }
    Ok(scope[2].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", value.parse().unwrap());
        h
    }

    #[test]
    fn a_request_without_authorization_is_refused() {
        assert!(auth_region(&HeaderMap::new(), "sagemaker").is_err());
    }

    #[test]
    fn the_region_comes_from_the_credential_scope() {
        let h = with_auth(
            "AWS4-HMAC-SHA256 Credential=AKID/20261127/eu-west-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef0123",
        );
        assert_eq!(auth_region(&h, "sagemaker").unwrap(), "eu-west-1");
    }

    #[test]
    fn a_scope_for_another_service_is_refused() {
        let h = with_auth(
            "AWS4-HMAC-SHA256 Credential=AKID/20261127/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
        );
        assert!(auth_region(&h, "sagemaker").unwrap_err().contains("sagemaker"));
    }
}
