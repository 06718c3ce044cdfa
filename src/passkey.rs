//! `navigator.credentials` for passkeys, with no WebAuthn library: the
//! server sends the options in WebAuthn's JSON form, the browser parses them
//! (`PublicKeyCredential.parseCreationOptionsFromJSON` and
//! `parseRequestOptionsFromJSON`), makes or uses the credential, and its
//! `toJSON()` (through `JSON.stringify`) is what goes back.

use js_sys::{Function, JSON, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Why a passkey ceremony did not give a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyError {
    /// This browser has no passkeys (or not their JSON forms).
    Unsupported,
    /// The user cancelled, the request timed out, or the authenticator said no.
    Cancelled,
}

fn get(target: &JsValue, name: &str) -> Result<JsValue, PasskeyError> {
    Reflect::get(target, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
        .ok_or(PasskeyError::Unsupported)
}

fn function(target: &JsValue, name: &str) -> Result<Function, PasskeyError> {
    get(target, name)?
        .dyn_into::<Function>()
        .map_err(|_| PasskeyError::Unsupported)
}

/// Calls `navigator.credentials[method]({publicKey: parse(options.publicKey)})`.
async fn ceremony(method: &str, parse: &str, options: &str) -> Result<String, PasskeyError> {
    let window: JsValue = web_sys::window().ok_or(PasskeyError::Unsupported)?.into();
    let pkc = get(&window, "PublicKeyCredential")?;
    let options = JSON::parse(options).map_err(|_| PasskeyError::Unsupported)?;
    let parsed = function(&pkc, parse)?
        .call1(&pkc, &get(&options, "publicKey")?)
        .map_err(|_| PasskeyError::Unsupported)?;
    let request = Object::new();
    Reflect::set(&request, &JsValue::from_str("publicKey"), &parsed)
        .map_err(|_| PasskeyError::Unsupported)?;
    let credentials = get(&get(&window, "navigator")?, "credentials")?;
    let promise: Promise = function(&credentials, method)?
        .call1(&credentials, &request)
        .map_err(|_| PasskeyError::Cancelled)?
        .dyn_into()
        .map_err(|_| PasskeyError::Unsupported)?;
    let credential = JsFuture::from(promise)
        .await
        .map_err(|_| PasskeyError::Cancelled)?;
    JSON::stringify(&credential)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or(PasskeyError::Cancelled)
}

/// Makes a passkey from the server's creation options.
pub async fn create(options: &str) -> Result<String, PasskeyError> {
    ceremony("create", "parseCreationOptionsFromJSON", options).await
}

/// Uses a passkey for the server's request options.
pub async fn use_passkey(options: &str) -> Result<String, PasskeyError> {
    ceremony("get", "parseRequestOptionsFromJSON", options).await
}

/// The catalog key that tells the user why.
pub fn error_key(e: &PasskeyError) -> &'static str {
    match e {
        PasskeyError::Unsupported => "passkey.unsupported",
        PasskeyError::Cancelled => "passkey.cancelled",
    }
}
