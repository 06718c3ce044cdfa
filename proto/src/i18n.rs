//! The portal's languages, shared by the SPA (which shows them) and the
//! server (which answers errors and sends emails in them).
//!
//! Texts live in one flat JSON catalog per locale, `public/locales/{code}.json`:
//! dotted keys, `{name}` placeholders, and plural forms as `key.one`,
//! `key.other`, ... with the CLDR categories [`plural_categories`] lists.

/// Every locale the portal ships: code, and its name in itself (for the picker).
pub const LOCALES: &[(&str, &str)] = &[
    ("ar", "العربية"),
    ("de", "Deutsch"),
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("ja", "日本語"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("pt", "Português"),
    ("sv", "Svenska"),
    ("zh", "中文"),
];

/// The fallback, and the source every other catalog is checked against.
pub const DEFAULT: &str = "en";

/// The shipped locale a language tag asks for: `de-AT` and `de` give `de`,
/// case-insensitively. `None` for a language the portal does not ship.
pub fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    LOCALES
        .iter()
        .map(|(code, _)| *code)
        .find(|code| *code == primary)
}

/// The first shipped locale among preferences given in order; `None` when
/// none is shipped, and the portal's default language applies (the
/// operator's `server.default_locale`, English unless set).
pub fn negotiate<'a>(prefs: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    prefs.into_iter().find_map(supported)
}

/// The `lng` parameter of a URL query (`?lng=fr`, as Entra's portals take
/// it), with or without the leading `?`. The SPA starts in it, and the
/// server preloads its catalog, so both read it here.
pub fn lng_param(query: &str) -> Option<&str> {
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("lng="))
}

/// The cookie that remembers the reader's pick from the language picker (or
/// a `?lng=`), so the server preloads that catalog with the page instead of
/// the one `Accept-Language` names. Not a secret: a locale code, read only
/// through [`supported`].
pub const PICK_COOKIE: &str = "sspr_lng";

/// The picked language in a `Cookie` header or `document.cookie`
/// (`a=1; sspr_lng=fr`), when it names a shipped locale.
pub fn picked(cookies: &str) -> Option<&'static str> {
    crate::cookie(cookies, PICK_COOKIE).and_then(supported)
}

/// The best shipped locale for an `Accept-Language` header, by q-value
/// (RFC 9110 §12.5.4); ties keep the header's order.
pub fn from_accept_language(header: &str) -> Option<&'static str> {
    let mut prefs: Vec<(u16, usize, &str)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut bits = part.split(';');
            let tag = bits.next()?.trim();
            let q = bits
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_q)?;
            (!tag.is_empty() && tag != "*" && q > 0).then_some((q, i, tag))
        })
        .collect();
    prefs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    negotiate(prefs.into_iter().map(|(_, _, tag)| tag))
}

/// A q-value in thousandths; `None` when malformed.
fn parse_q(q: &str) -> Option<u16> {
    let q = q.trim();
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    let q = whole * 1000 + frac;
    (q <= 1000).then_some(q)
}

/// Whether the locale is written right to left.
pub fn is_rtl(code: &str) -> bool {
    matches!(code, "ar" | "he" | "fa" | "ur")
}

/// The CLDR plural category of a whole number in this locale.
pub fn plural(code: &str, n: u64) -> &'static str {
    match code {
        "ja" | "zh" => "other",
        "fr" | "pt" => {
            if n <= 1 {
                "one"
            } else {
                "other"
            }
        }
        "pl" => {
            let (m10, m100) = (n % 10, n % 100);
            if n == 1 {
                "one"
            } else if (2..=4).contains(&m10) && !(12..=14).contains(&m100) {
                "few"
            } else {
                "many"
            }
        }
        "ar" => match (n, n % 100) {
            (0, _) => "zero",
            (1, _) => "one",
            (2, _) => "two",
            (_, 3..=10) => "few",
            (_, 11..=99) => "many",
            _ => "other",
        },
        _ => {
            if n == 1 {
                "one"
            } else {
                "other"
            }
        }
    }
}

/// Every category [`plural`] can give for whole numbers in this locale: the
/// forms each plural key must have there.
pub fn plural_categories(code: &str) -> &'static [&'static str] {
    match code {
        "ja" | "zh" => &["other"],
        "pl" => &["one", "few", "many"],
        "ar" => &["zero", "one", "two", "few", "many", "other"],
        _ => &["one", "other"],
    }
}

/// Fills `{name}` placeholders; unknown ones stay as written.
pub fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{name}` placeholders a text uses, sorted, for the completeness test.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = text
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_to_shipped_locales() {
        assert_eq!(supported("de-AT"), Some("de"));
        assert_eq!(supported("ZH_hans"), Some("zh"));
        assert_eq!(supported("pt-BR"), Some("pt"));
        assert_eq!(supported("xx"), None);
        assert_eq!(negotiate(["xx", "fr-CA", "de"]), Some("fr"));
        assert_eq!(negotiate(["xx"]), None);
    }

    #[test]
    fn the_lng_parameter_is_found_anywhere_in_the_query() {
        assert_eq!(lng_param("?lng=fr"), Some("fr"));
        assert_eq!(lng_param("x=1&lng=pt-BR"), Some("pt-BR"));
        assert_eq!(lng_param("?xlng=fr&y=2"), None);
        assert_eq!(lng_param(""), None);
    }

    #[test]
    fn the_pick_cookie_is_read_by_exact_name_and_only_when_shipped() {
        assert_eq!(picked("sspr_lng=fr"), Some("fr"));
        assert_eq!(picked("a=1;  sspr_lng=pt-BR; b=2"), Some("pt"));
        assert_eq!(picked("xsspr_lng=fr; sspr_lngx=de"), None);
        assert_eq!(picked("sspr_lng=xx"), None);
        assert_eq!(picked("sspr_lng="), None);
        assert_eq!(picked(""), None);
    }

    #[test]
    fn accept_language_honours_q_values_then_order() {
        assert_eq!(from_accept_language("de-DE,de;q=0.9,en;q=0.8"), Some("de"));
        assert_eq!(from_accept_language("en;q=0.5, ar;q=0.9"), Some("ar"));
        assert_eq!(from_accept_language("xx, ja;q=0.1"), Some("ja"));
        assert_eq!(from_accept_language("fr;q=0, *"), None);
        assert_eq!(from_accept_language("sv;q=1.5, nl;q=0.3"), Some("nl"));
        assert_eq!(from_accept_language(""), None);
    }

    #[test]
    fn plural_categories_follow_cldr() {
        let forms = |code, ns: &[u64]| ns.iter().map(|n| plural(code, *n)).collect::<Vec<_>>();
        assert_eq!(forms("en", &[0, 1, 2]), ["other", "one", "other"]);
        assert_eq!(forms("fr", &[0, 1, 2]), ["one", "one", "other"]);
        assert_eq!(
            forms("pl", &[1, 2, 5, 12, 22, 25]),
            ["one", "few", "many", "many", "few", "many"]
        );
        assert_eq!(
            forms("ar", &[0, 1, 2, 3, 11, 100, 103]),
            ["zero", "one", "two", "few", "many", "other", "few"]
        );
        assert_eq!(forms("ja", &[1, 2]), ["other", "other"]);
        for (code, _) in LOCALES {
            for n in 0..1000 {
                assert!(
                    plural_categories(code).contains(&plural(code, n)),
                    "{code} {n}"
                );
            }
        }
    }

    #[test]
    fn placeholders_fill_and_list() {
        assert_eq!(
            fill(
                "{count} of {total} met, {x}",
                &[("count", "2"), ("total", "5")]
            ),
            "2 of 5 met, {x}"
        );
        assert_eq!(fill("no { close", &[]), "no { close");
        assert_eq!(placeholders("{b} and {a} and {b}, {}"), ["a", "b"]);
    }
}
