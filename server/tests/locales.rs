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
const NOT_KEYS: &[&str] = &["sms.jsonl", "voice.jsonl", "insights.html"];
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

/// Where translation functions take their key, by source folder: the
/// function names (as called) and the key's argument position. A call whose
/// key is not a literal passes it through a variable; the literal it came
/// from is checked by the scan above, or, on the server, it is an
/// `i18n::Key` that only the compile-time-checked `key!` makes.
const CALLS: &[(&str, &[&str], usize)] = &[
    (
        "src",
        &[
            "t",
            "tf",
            "tn",
            "i18n::t",
            "i18n::tf",
            "i18n::tn",
            "i18n::text",
            "t!",
        ],
        0,
    ),
    ("server/src", &["i18n::text", "i18n::text_with"], 1),
    ("server/src", &["key!"], 0),
    ("proto/src", &["key!"], 0),
];

/// Keys built at runtime from pieces, which no scan can check: each is
/// listed with the file that builds it and every key it can make (checked
/// against every catalog). A new one fails until it is listed here.
const BUILT_KEYS: &[(&str, &str, &[&str])] = &[
    // `tn` picks `{key}.{form}` by the language's plural rules; the forms
    // each locale needs are checked by `every_locale_has_every_key...`.
    ("src/texts.rs", "{key}.{}", &[]),
    ("src/texts.rs", "{key}.other", &[]),
    // Not keys: file names and theme field paths.
    ("server/src/assets.rs", "{path}.{ext}", &[]),
    ("server/src/breach.rs", "{prefix}.txt", &[]),
    ("server/src/theme.rs", "{palette}.{role}", &[]),
];

/// `(file:line, function, argument text)` for every call of a translation
/// function in the sources.
fn translation_calls() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (dir, names, arg) in CALLS {
        let mut files = Vec::new();
        rust_files(&root().join(dir), &mut files);
        for f in files {
            let rel = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
            if NO_TEXTS_IN.iter().any(|n| rel.starts_with(n)) {
                continue;
            }
            let text = std::fs::read_to_string(&f).expect("a readable source file");
            for name in *names {
                let call = format!("{name}(");
                let mut from = 0;
                while let Some(i) = text[from..].find(&call) {
                    let at = from + i;
                    from = at + call.len();
                    // A whole name: not `tt(`, `.t(`, `fn t(`, nor `i18n::t(` for `t`.
                    let before = text[..at].chars().next_back().unwrap_or(' ');
                    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
                    let line = &text[line_start..];
                    if before.is_alphanumeric()
                        || matches!(before, '_' | '.' | ':')
                        || text[..at].ends_with("fn ")
                        || line.trim_start().starts_with("//")
                        || line.trim_start().starts_with("///")
                    {
                        continue;
                    }
                    let Some(args) = arguments(&text[from..]) else {
                        continue;
                    };
                    let line_no = text[..at].matches('\n').count() + 1;
                    if let Some(a) = args.get(*arg) {
                        out.push((format!("{rel}:{line_no}"), name.to_string(), a.clone()));
                    }
                }
            }
        }
    }
    out
}

/// The top-level arguments of a call, from just after its `(`: split at
/// commas outside brackets and strings, up to the matching `)`.
fn arguments(s: &str) -> Option<Vec<String>> {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    let (mut args, mut cur) = (Vec::new(), String::new());
    for c in s.chars() {
        if in_str {
            cur.push(c);
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                args.push(cur.trim().to_string());
                return Some(args);
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                args.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    None
}

/// The string literal an argument is, if it is one (`"a.b"`, `&"a.b"`,
/// `plural "a.b"` in `key!`).
fn literal(arg: &str) -> Option<&str> {
    let a = arg
        .trim_start_matches('&')
        .trim_start_matches("plural ")
        .trim();
    let inner = a.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then_some(inner)
}

/// Whether `key` names a text in `cat`: a plain one, or a plural base.
fn has_text(cat: &BTreeMap<String, String>, key: &str, plural: bool) -> bool {
    if plural {
        cat.keys().any(|k| plural_base(k) == Some(key))
    } else {
        cat.contains_key(key)
    }
}

#[test]
fn every_key_a_translation_call_names_is_in_every_catalog() {
    let catalogs: Vec<(&str, BTreeMap<String, String>)> =
        LOCALES.iter().map(|(c, _)| (*c, catalog(c))).collect();
    let calls = translation_calls();
    assert!(
        calls.len() > 200,
        "the scan finds the calls: {}",
        calls.len()
    );
    let mut problems = Vec::new();
    for (at, name, arg) in &calls {
        let plural = name.ends_with("tn") || arg.starts_with("plural ");
        match literal(arg) {
            Some(key) => {
                for (code, cat) in &catalogs {
                    if !has_text(cat, key, plural) {
                        problems.push(format!("{at}: {name}({arg}): no {key:?} in {code}.json"));
                    }
                }
            }
            // A key put together here cannot be checked: list it in BUILT_KEYS.
            None if ["format!", "concat!", " + ", "to_string", "String::"]
                .iter()
                .any(|b| arg.contains(b))
                && !BUILT_KEYS.iter().any(|(file, pattern, _)| {
                    at.starts_with(&format!("{file}:")) && arg.contains(&format!("\"{pattern}\""))
                }) =>
            {
                problems.push(format!(
                    "{at}: {name}({arg}): a key built at runtime; list it in BUILT_KEYS"
                ));
            }
            // `t(if shown { "action.hide" } else { "action.show" })`: every
            // literal the expression can give is a key (an English sentence
            // passed as a key shows as English in every language).
            // A listed builder: its keys are checked by the test below.
            None if arg.contains("format!") || arg.contains("concat!") => {}
            None => {
                for key in arg.split('"').skip(1).step_by(2) {
                    for (code, cat) in &catalogs {
                        if !has_text(cat, key, plural) {
                            problems
                                .push(format!("{at}: {name}({arg}): no {key:?} in {code}.json"));
                        }
                    }
                }
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
fn keys_built_at_runtime_are_listed_and_exist() {
    let en = catalog(DEFAULT);
    let namespaces: BTreeSet<&str> = en.keys().filter_map(|k| k.split('.').next()).collect();
    let mut files = Vec::new();
    for dir in ["src", "server/src", "proto/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut problems = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
        if NO_TEXTS_IN.iter().any(|n| rel.starts_with(n)) {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            for mac in ["format!(\"", "concat!(\""] {
                let Some(i) = line.find(mac) else { continue };
                let pattern = line[i + mac.len()..].split('"').next().unwrap_or_default();
                // A template that starts like a key, or is a key's pieces.
                let first = pattern.split('.').next().unwrap_or_default();
                let keyish = pattern.contains('.')
                    && !pattern.contains(' ')
                    && !pattern.contains(':')
                    && (namespaces.contains(first) || first.starts_with('{'));
                if !keyish {
                    continue;
                }
                match BUILT_KEYS.iter().find(|(file, p, _)| *file == rel && *p == pattern) {
                    Some((_, _, keys)) => {
                        for k in *keys {
                            for (code, _) in LOCALES {
                                if !catalog(code).contains_key(*k) {
                                    problems.push(format!("{rel}: {pattern:?} makes {k}, not in {code}.json"));
                                }
                            }
                        }
                    }
                    None => problems.push(format!(
                        "{rel}:{}: {pattern:?} builds a key at runtime; list it in BUILT_KEYS with every key it makes",
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_error_id_has_a_text_in_every_locale() {
    for (code, _) in LOCALES {
        let cat = catalog(code);
        for id in sspr_proto::ErrorId::ALL {
            assert!(
                cat.contains_key(id.message_key()),
                "{code}.json: no {} for {id:?}",
                id.message_key()
            );
        }
    }
}
