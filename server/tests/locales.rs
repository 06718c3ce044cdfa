//! Localisation completeness: every shipped locale has exactly the keys the
//! code uses (none missing, none unused), each plural key has the forms its
//! language needs, and each text keeps the source's placeholders.
//!
//! "Used" means a string literal in the SPA, server or proto sources shaped
//! like a catalog key (`reset.code.heading`): the code names every key it
//! shows as a literal, so this scan sees them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sspr_proto::i18n::{DEFAULT, LOCALES, placeholders, plural_categories};
use sspr_server::i18n::SOURCES;

const PLURAL_FORMS: &[&str] = &["zero", "one", "two", "few", "many", "other"];

/// Key-shaped literals that are not texts: config paths, file names.
const NOT_KEYS: &[&str] = &["sms.jsonl", "insights.html"];
/// Folders whose literals name config fields (`reset.pow_difficulty`), not texts.
const NO_TEXTS_IN: &[&str] = &["server/src/config"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn catalog(code: &str) -> BTreeMap<String, String> {
    let json = SOURCES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, j)| *j)
        .unwrap_or_else(|| panic!("no catalog for {code}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{code}.json: {e}"))
}

/// `base` for `base.one` etc., when the key is a plural form.
fn plural_base(key: &str) -> Option<&str> {
    let (base, form) = key.rsplit_once('.')?;
    PLURAL_FORMS.contains(&form).then_some(base)
}

/// The source's keys: plain keys, and plural bases with their forms.
struct Source {
    plain: BTreeMap<String, String>,
    plural: BTreeMap<String, BTreeMap<String, String>>,
}

/// Splits a catalog by the source's plural bases (English has `.other`
/// for each; Polish, for one, has no `other` form for whole numbers).
fn split(cat: &BTreeMap<String, String>) -> Source {
    let en = catalog(DEFAULT);
    let bases: BTreeSet<&str> = en.keys().filter_map(|k| k.strip_suffix(".other")).collect();
    let mut s = Source {
        plain: BTreeMap::new(),
        plural: BTreeMap::new(),
    };
    for (k, v) in cat {
        match plural_base(k).filter(|b| bases.contains(b)) {
            Some(base) => {
                let form = &k[base.len() + 1..];
                s.plural
                    .entry(base.to_string())
                    .or_default()
                    .insert(form.to_string(), v.clone());
            }
            None => {
                s.plain.insert(k.clone(), v.clone());
            }
        }
    }
    s
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("a source directory")
        .flatten()
    {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn looks_like_key(s: &str) -> bool {
    let mut parts = s.split('.');
    let ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    s.contains('.') && parts.all(ok) && s.as_bytes()[0].is_ascii_lowercase()
}

/// Every key-shaped literal in the sources whose first segment is one of the
/// catalog's namespaces. Serde renames (wire ids, not texts) are skipped.
fn used_keys(namespaces: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut files = Vec::new();
    for dir in ["src", "server/src", "proto/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut used = BTreeMap::new();
    for n in NO_TEXTS_IN {
        assert!(root().join(n).exists(), "{n} moved: update NO_TEXTS_IN");
    }
    files.retain(|f| {
        let rel = f.strip_prefix(root()).unwrap_or(f);
        !NO_TEXTS_IN.iter().any(|n| rel.starts_with(n))
    });
    for f in files {
        let text = std::fs::read_to_string(&f).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            if line.contains("serde(rename") || line.trim_start().starts_with("//") {
                continue;
            }
            for lit in line.split('"').skip(1).step_by(2) {
                let first = lit.split('.').next().unwrap_or_default();
                if looks_like_key(lit) && namespaces.contains(first) && !NOT_KEYS.contains(&lit) {
                    let at = format!(
                        "{}:{}",
                        f.strip_prefix(root()).unwrap_or(&f).display(),
                        n + 1
                    );
                    used.entry(lit.to_string()).or_insert(at);
                }
            }
        }
    }
    used
}

#[test]
fn catalogs_are_the_shipped_locales() {
    let shipped: Vec<&str> = LOCALES.iter().map(|(c, _)| *c).collect();
    let embedded: Vec<&str> = SOURCES.iter().map(|(c, _)| *c).collect();
    assert_eq!(embedded, shipped);
    assert!(shipped.len() >= 12, "at least 12 locales");
    assert!(
        shipped.iter().any(|c| sspr_proto::i18n::is_rtl(c)),
        "one right-to-left locale"
    );
    for code in shipped {
        let path = root().join(format!("public/locales/{code}.json"));
        assert!(path.exists(), "{} missing", path.display());
    }
}

#[test]
fn every_key_the_code_uses_exists_and_every_key_is_used() {
    let en = split(&catalog(DEFAULT));
    let namespaces: BTreeSet<String> = en
        .plain
        .keys()
        .chain(en.plural.keys())
        .filter_map(|k| k.split('.').next().map(str::to_string))
        .collect();
    let used = used_keys(&namespaces);
    let known = |k: &str| en.plain.contains_key(k) || en.plural.contains_key(k);
    let missing: Vec<String> = used
        .iter()
        .filter(|(k, _)| !known(k))
        .map(|(k, at)| format!("{k} (used at {at})"))
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from en.json:\n{}",
        missing.join("\n")
    );
    let unused: Vec<&String> = en
        .plain
        .keys()
        .chain(en.plural.keys())
        .filter(|k| !used.contains_key(*k))
        .collect();
    assert!(unused.is_empty(), "keys no code uses: {unused:?}");
}

#[test]
fn every_locale_has_every_key_with_its_placeholders() {
    let en = split(&catalog(DEFAULT));
    let mut problems = Vec::new();
    for (code, _) in LOCALES {
        let raw = catalog(code);
        let cat = split(&raw);
        for (k, v) in &raw {
            if v.trim().is_empty() {
                problems.push(format!("{code}: {k} is empty"));
            }
        }
        for (k, source) in &en.plain {
            match cat.plain.get(k) {
                None => problems.push(format!("{code}: missing {k}")),
                Some(v) if placeholders(v) != placeholders(source) => problems.push(format!(
                    "{code}: {k} has placeholders {:?}, the source {:?}",
                    placeholders(v),
                    placeholders(source)
                )),
                Some(_) => {}
            }
        }
        for k in cat.plain.keys() {
            if !en.plain.contains_key(k) {
                problems.push(format!("{code}: unused key {k}"));
            }
        }
        let forms: BTreeSet<&str> = plural_categories(code).iter().copied().collect();
        for (base, source) in &en.plural {
            let allowed: BTreeSet<&str> = source.values().flat_map(|v| placeholders(v)).collect();
            let Some(have) = cat.plural.get(base) else {
                problems.push(format!("{code}: missing plural {base}"));
                continue;
            };
            let have_forms: BTreeSet<&str> = have.keys().map(String::as_str).collect();
            if have_forms != forms {
                problems.push(format!(
                    "{code}: {base} has forms {have_forms:?}, {code} needs {forms:?}"
                ));
            }
            for (form, v) in have {
                let extra: Vec<&str> = placeholders(v)
                    .into_iter()
                    .filter(|p| !allowed.contains(p))
                    .collect();
                if !extra.is_empty() {
                    problems.push(format!("{code}: {base}.{form} uses unknown {extra:?}"));
                }
            }
            // The number must show wherever the source shows it.
            if allowed.contains("count")
                && forms.len() > 1
                && let Some(v) = have.get("other").or_else(|| have.get("many"))
                && !placeholders(v).contains(&"count")
            {
                problems.push(format!("{code}: {base} never shows {{count}}"));
            }
        }
        for base in cat.plural.keys() {
            if !en.plural.contains_key(base) {
                problems.push(format!("{code}: unused plural {base}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn translations_are_not_left_in_english() {
    // A catalog copied from English passes the key checks; this catches it.
    let en = catalog(DEFAULT);
    for (code, _) in LOCALES.iter().filter(|(c, _)| *c != DEFAULT) {
        let cat = catalog(code);
        let same = cat
            .iter()
            .filter(|(k, v)| en.get(*k) == Some(*v) && v.chars().any(char::is_alphabetic))
            .count();
        assert!(
            same * 10 < cat.len(),
            "{code}: {same} of {} texts are the English ones",
            cat.len()
        );
    }
}
