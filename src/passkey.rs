//! `navigator.credentials` for passkeys, with no WebAuthn library: the
//! server sends the options in WebAuthn's JSON form, the browser parses them
//! (`PublicKeyCredential.parseCreationOptionsFromJSON` and
//! `parseRequestOptionsFromJSON`), makes or uses the credential, and its
//! `toJSON()` (through `JSON.stringify`) is what goes back. The begin's
//! answer and the finish's body are read and made here with the browser's
//! `JSON` too, so no serde code is linked for them. Unchecked casts: a wrong
//! type is an exception or a rejected promise, caught as one.

use js_sys::{Function, JSON, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn member(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &JsValue::from_str(name))
}

fn object(fields: &[(&str, &str)]) -> Object {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    o
}

/// A JSON body of string members.
pub fn body(fields: &[(&str, &str)]) -> String {
    JSON::stringify(&object(fields))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// Runs the ceremony `begun` (the server's `{"ceremony", "options"}`) and
/// makes the finish's body: `fields`, the ceremony and the credential.
async fn run(begun: &str, create: bool, fields: &[(&str, &str)]) -> Result<String, JsValue> {
    let (method, parse) = if create {
        ("create", "parseCreationOptionsFromJSON")
    } else {
        ("get", "parseRequestOptionsFromJSON")
    };
    let window: JsValue = web_sys::window().ok_or(JsValue::NULL)?.into();
    let pkc = member(&window, "PublicKeyCredential")?;
    let begun = JSON::parse(begun)?;
    let options = member(&begun, "options")?
        .as_string()
        .ok_or(JsValue::NULL)?;
    let public_key = member(&JSON::parse(&options)?, "publicKey")?;
    let parsed = member(&pkc, parse)?
        .unchecked_into::<Function>()
        .call1(&pkc, &public_key)?;
    let request = object(&[]);
    Reflect::set(&request, &JsValue::from_str("publicKey"), &parsed)?;
    let credentials = member(&member(&window, "navigator")?, "credentials")?;
    let promise = member(&credentials, method)?
        .unchecked_into::<Function>()
        .call1(&credentials, &request)?;
    let credential = JsFuture::from(promise.unchecked_into::<Promise>()).await?;
    let finish = object(fields);
    Reflect::set(
        &finish,
        &JsValue::from_str("ceremony"),
        &member(&begun, "ceremony")?,
    )?;
    Reflect::set(
        &finish,
        &JsValue::from_str("credential"),
        &JSON::stringify(&credential)?.into(),
    )?;
    JSON::stringify(&finish)?.as_string().ok_or(JsValue::NULL)
}

/// The finish's body for the ceremony `begun`; `None` if the user
/// cancelled, the authenticator said no, or this browser has no passkeys.
pub async fn answer(begun: &str, create: bool, fields: &[(&str, &str)]) -> Option<String> {
    run(begun, create, fields).await.ok()
}
