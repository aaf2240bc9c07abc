//! Authentication checks.
//!
//! The emulator accepts any credentials, but like AWS it refuses requests that carry no SigV4 authentication
//! at all, so that a misconfigured client fails here as it would against the real service. The signature is
//! never verified: only the presence and shape of the `Authorization` header (or the presigned query
//! parameters) are checked.

use http::HeaderMap;

use super::error::ApiError;

/// Checks that a request carries SigV4 authentication, by header or by presigned query string.
pub(crate) fn check(headers: &HeaderMap, query: Option<&str>) -> Result<(), ApiError> {
    let header = headers.get(http::header::AUTHORIZATION);
    let presigned = query.is_some_and(|q| q.split('&').any(|p| p.starts_with("X-Amz-Algorithm=")));
    match (header, presigned) {
        (Some(_), true) => Err(ApiError::from_code(
            "InvalidSignatureException",
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
        )),
        (None, false) => Err(ApiError::from_code(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )),
        (None, true) => Ok(()),
        (Some(value), false) => {
            let value = value.to_str().unwrap_or("");
            let mut missing = Vec::new();
            for part in ["Credential", "SignedHeaders", "Signature"] {
                let needle = format!("{part}=");
                if !value.split([',', ' ']).any(|p| p.trim().starts_with(&needle)) {
                    missing.push(format!("Authorization header requires '{part}' parameter."));
                }
            }
            if !headers.contains_key("x-amz-date") && !headers.contains_key(http::header::DATE) {
                missing.push(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                        .to_owned(),
                );
            }
            if missing.is_empty() {
                Ok(())
            } else {
                Err(ApiError::from_code(
                    "IncompleteSignatureException",
                    format!("{} Authorization={value}", missing.join(" ")),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, \
                        SignedHeaders=host;x-amz-date, Signature=abc";

    #[test]
    fn missing_authorization_is_rejected() {
        let err = check(&HeaderMap::new(), None).unwrap_err();
        assert_eq!(err.code, "MissingAuthenticationTokenException");
        assert_eq!(err.status, http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn well_formed_header_is_accepted_without_verifying() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, HeaderValue::from_static(GOOD));
        headers.insert("x-amz-date", HeaderValue::from_static("20260101T000000Z"));
        assert!(check(&headers, None).is_ok());
    }

    #[test]
    fn incomplete_header_is_rejected() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=x"),
        );
        let err = check(&headers, None).unwrap_err();
        assert_eq!(err.code, "IncompleteSignatureException");
        assert!(err.message.contains("Signature"));
    }

    #[test]
    fn presigned_query_is_accepted_and_both_rejected() {
        assert!(check(
            &HeaderMap::new(),
            Some("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=x")
        )
        .is_ok());
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, HeaderValue::from_static(GOOD));
        let err = check(&headers, Some("X-Amz-Algorithm=AWS4-HMAC-SHA256")).unwrap_err();
        assert_eq!(err.code, "InvalidSignatureException");
    }
}
