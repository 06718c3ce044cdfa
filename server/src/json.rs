//! `ApiJson<T>`: the only way a handler reads a request body.
//!
//! It insists on `application/json`, caps the size, refuses duplicate keys and
//! unknown fields (through `deny_unknown_fields` on the wire types), and names
//! the offending field, so a bad request gets a typed error and changes nothing.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest accepted request body. Every request this API takes is small.
pub const MAX_BODY: usize = 16 * 1024;

#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        // Exactly one Content-Type, and it is JSON.
        let types: Vec<_> = req.headers().get_all(header::CONTENT_TYPE).iter().collect();
        let is_json = types.len() == 1
            && types[0]
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        parse(&bytes).map(ApiJson)
    }
}

/// Deserializes strictly; errors say which field and why, never echoing values.
/// Every request body is a JSON object: serde would take a struct from an
/// array of its fields in order, which no client of this API sends.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        // Well-formed JSON of the wrong shape is a field error, like any other.
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => ApiError::InvalidField {
                    field: String::new(),
                    reason: "the body must be a JSON object".into(),
                },
                Err(e) => ApiError::InvalidJson(e.to_string()),
            },
        );
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            // Well-formed JSON of the wrong shape: name the field. Errors about a
            // struct's own keys (missing, duplicate, unknown) name the key.
            serde_json::error::Category::Data => {
                let field = if path == "." {
                    key_named(&inner.to_string())
                } else {
                    Some(path)
                };
                ApiError::InvalidField {
                    field: field.unwrap_or_default(),
                    reason: inner.to_string(),
                }
            }
            _ => ApiError::InvalidJson(inner.to_string()),
        }
    })?;
    de.end().map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    Ok(value)
}

/// The key serde's messages about a struct's own keys name ("missing
/// field `name`", "duplicate field `name`", "unknown field `name`, expected
/// ..."). Any other message at the top names a value, not a key: inside an
/// internally tagged enum serde loses the path, so `{"kind":"sms","phone":12}`
/// says "invalid type: integer `12`, ..." at `.`, and "unknown variant
/// `fax`" names what was typed. Those get no field rather than a value as
/// one (which the refusal would also carry into the log).
fn key_named(msg: &str) -> Option<String> {
    ["missing field `", "duplicate field `", "unknown field `"]
        .iter()
        .find_map(|p| msg.strip_prefix(p))
        .and_then(|rest| rest.split_once('`'))
        .map(|(key, _)| key.to_string())
}
