//! Catalog keys checked while compiling. [`key!`](crate::key) names a text
//! of `public/locales/en.json`, the source catalog every other locale is
//! checked against (`server/tests/locales.rs`): a key the source lacks,
//! a typo, is a compile error, not an English key shown to the reader.
//!
//! The catalog is read only by `const` evaluation, so nothing of it reaches
//! a binary (the SPA fetches its catalog at runtime).

/// The source catalog's text, for the compile-time check only.
const SOURCE: &str = include_str!("../../public/locales/en.json");

/// Whether the source catalog has `key` (a plain text, or one plural form
/// such as `x.other`). `const`, so [`key!`](crate::key) runs it at compile time.
pub const fn in_source(key: &str) -> bool {
    has_key(SOURCE, key)
}

/// Whether the flat JSON object `catalog` has the key `key`: an
/// unescaped `"key"` followed by `:`.
pub const fn has_key(catalog: &str, key: &str) -> bool {
    let (hay, k) = (catalog.as_bytes(), key.as_bytes());
    if k.is_empty() {
        return false;
    }
    let mut i = 0;
    while i + k.len() + 2 < hay.len() {
        if hay[i] == b'"'
            && (i == 0 || hay[i - 1] != b'\\')
            && hay[i + k.len() + 1] == b'"'
            && hay[i + k.len() + 2] == b':'
        {
            let mut j = 0;
            while j < k.len() && hay[i + 1 + j] == k[j] {
                j += 1;
            }
            if j == k.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// A catalog key, checked at compile time against `public/locales/en.json`:
/// `key!("email.reset_code.subject")` is that `&'static str`, and a key the
/// catalog lacks does not compile. `key!(plural "x")` is the base of a
/// plural text (`x.one`, `x.other`, ...), checked by its `other` form.
#[macro_export]
macro_rules! key {
    (plural $key:literal) => {{
        const _: () = assert!(
            $crate::keys::in_source(concat!($key, ".other")),
            concat!(
                "no plural text `",
                $key,
                "` (",
                $key,
                ".other) in public/locales/en.json"
            )
        );
        $key
    }};
    ($key:literal) => {{
        const _: () = assert!(
            $crate::keys::in_source($key),
            concat!("no text `", $key, "` in public/locales/en.json")
        );
        $key
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_not_values_nor_prefixes() {
        let cat = r#"{"a.b": "x", "c": "say \"d\": no", "e.f.other": "{count}"}"#;
        assert!(has_key(cat, "a.b"));
        assert!(has_key(cat, "e.f.other"));
        assert!(!has_key(cat, "a"), "a prefix is not a key");
        assert!(!has_key(cat, "x"), "a value is not a key");
        assert!(
            !has_key(cat, "d"),
            "an escaped quote in a value is not a key"
        );
        assert!(!has_key(cat, ""));
        assert!(in_source("action.next"));
        assert_eq!(crate::key!("action.next"), "action.next");
        // Built, so the catalog scan does not take it for a key in use.
        assert!(!in_source(concat!("action", ".nxet")));
    }
}
