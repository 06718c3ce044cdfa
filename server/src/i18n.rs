//! The server's side of localisation: error messages and the texts of mail
//! and SMS, in the request's language (its `Accept-Language`; the SPA sends
//! the language the page shows). The catalogs are the SPA's own
//! (`public/locales/*.json`), built into the binary.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use sspr_proto::i18n::{self as lang, DEFAULT};

macro_rules! catalogs {
    ($($code:literal),* $(,)?) => {
        &[$(($code, include_str!(concat!("../../public/locales/", $code, ".json")))),*]
    };
}

/// Every shipped catalog, as JSON text; the completeness test checks this
/// list against [`sspr_proto::i18n::LOCALES`].
pub const SOURCES: &[(&str, &str)] = catalogs!(
    "ar", "de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt", "sv", "zh"
);

type Catalog = HashMap<String, String>;

static CATALOGS: LazyLock<HashMap<&'static str, Catalog>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(code, json)| {
            // A catalog that does not parse is a build defect the
            // completeness test reports; serve English keys meanwhile.
            (*code, serde_json::from_str(json).unwrap_or_default())
        })
        .collect()
});

tokio::task_local! {
    static CURRENT: &'static str;
}

/// The language of the request being handled (English outside one).
pub fn current() -> &'static str {
    CURRENT.try_with(|c| *c).unwrap_or(DEFAULT)
}

/// The language `Accept-Language` asks for, else the portal's default.
pub fn for_request(headers: &header::HeaderMap, default: &'static str) -> &'static str {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(lang::from_accept_language)
        .unwrap_or(default)
}

/// Runs the rest of the request in the language its `Accept-Language` asks
/// for, else in the portal's default language.
pub async fn negotiate(State(state): State<crate::AppState>, req: Request, next: Next) -> Response {
    let code = for_request(req.headers(), state.config.default_locale());
    let mut resp = CURRENT.scope(code, next.run(req)).await;
    resp.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        header::HeaderValue::from_static(code),
    );
    resp
}

fn lookup(code: &str, key: &str) -> Option<&'static str> {
    CATALOGS.get(code)?.get(key).map(String::as_str)
}

/// The text for `key` in `code`, else English, else the key.
pub fn text(code: &str, key: &str) -> String {
    lookup(code, key)
        .or_else(|| lookup(DEFAULT, key))
        .unwrap_or(key)
        .to_string()
}

/// [`text`] of a checked key with `{name}` placeholders filled: what mail
/// and SMS are written with.
pub fn text_with(code: &str, key: Key, args: &[(&str, &str)]) -> String {
    lang::fill(&text(code, key.as_str()), args)
}

/// A catalog key the compiler has checked against `public/locales/en.json`:
/// made by [`key!`](crate::key) only, so a mail, an SMS or a change notice
/// cannot be written with a misspelt key or an English sentence. The
/// completeness test (`server/tests/locales.rs`) then checks every locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(&'static str);

impl Key {
    /// Use [`key!`](crate::key): it checks `key` while compiling.
    #[doc(hidden)]
    pub const fn checked(key: &'static str) -> Key {
        Key(key)
    }

    /// The key, e.g. `email.reset_code.subject`.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// `key!("email.reset_code.subject")`: an [`i18n::Key`](crate::i18n::Key),
/// or a compile error when `public/locales/en.json` lacks it.
#[macro_export]
macro_rules! key {
    ($key:literal) => {
        $crate::i18n::Key::checked(sspr_proto::key!($key))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_to_english_then_the_key() {
        assert_eq!(text("de", "action.next"), "Weiter");
        assert_eq!(text("xx", "action.next"), "Next");
        assert_eq!(text("de", "no.such.key"), "no.such.key");
        assert_eq!(current(), "en");
    }

    #[test]
    fn checked_keys_fill_their_placeholders() {
        let k = crate::key!("email.reset_code.body");
        assert_eq!(k.as_str(), "email.reset_code.body");
        assert!(text_with("de", k, &[("code", "123456")]).contains("123456"));
    }
}
