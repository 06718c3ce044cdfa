//! `cargo xtask cycles`: no import circle between the top-level modules of
//! a crate. A module's references are its `crate::x` paths (also inside
//! `use crate::{x, y::z}` groups and `$crate::x`) and the `super::` paths
//! that climb to the crate root; comments and string literals are skipped.
//! The crate root (`lib.rs`, `main.rs`) is left out: it declares every
//! module, so it would close a circle through any re-export. A path a
//! macro expands to at its call site is not seen.
//!
//! The circles are the strongly connected components of that graph
//! (Tarjan's algorithm) with more than one module.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Result;

/// Source folders that must stay circle-free: a circle fails the check.
pub const MUST_BE_FREE: &[&str] = &["proto/src", "policy/src", "src", "server/src"];
/// Folders whose circles are printed for information only (being untangled).
pub const INFO_ONLY: &[&str] = &[];

/// For each top-level module, the modules it refers to, each with the first
/// place it does (`file:line`, under the source folder).
pub type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// Checks [`MUST_BE_FREE`] and reports on [`INFO_ONLY`].
pub fn command(root: &Path) -> Result {
    let mut failed = Vec::new();
    for (dirs, required) in [(MUST_BE_FREE, true), (INFO_ONLY, false)] {
        for dir in dirs {
            let graph = graph(&root.join(dir))?;
            let found = circles(&graph);
            if found.is_empty() {
                eprintln!(
                    "cycles: {dir}: no import circle among {} modules",
                    graph.len()
                );
                continue;
            }
            let label = if required {
                "FAIL"
            } else {
                "info (not enforced yet)"
            };
            eprintln!("cycles: {dir}: {} circle(s), {label}", found.len());
            for circle in &found {
                eprintln!("  {}", circle.join(" <-> "));
                if !required {
                    continue;
                }
                for from in circle {
                    for (to, at) in &graph[from] {
                        if circle.contains(to) {
                            eprintln!("    {from} -> {to}  ({dir}/{at})");
                        }
                    }
                }
            }
            if required {
                failed.push(*dir);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("import circles in {}", failed.join(", ")))
    }
}

/// The module graph of the crate whose sources are in `src`.
pub fn graph(src: &Path) -> Result<Graph> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    files.sort();
    let mut graph = Graph::new();
    let mut refs = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(src).map_err(|e| e.to_string())?;
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        // Each file in src/bin/ is a crate of its own.
        if parts.len() > 1 && parts[0] == "bin" {
            continue;
        }
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        let Some(module) = parts.first().cloned() else {
            continue;
        };
        if parts.len() == 1 && (module == "lib" || module == "main") {
            continue;
        }
        graph.entry(module.clone()).or_default();
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        for (to, line) in references(&text, parts.len()) {
            refs.push((module.clone(), to, format!("{}:{line}", rel.display())));
        }
    }
    for (from, to, at) in refs {
        if from != to && graph.contains_key(&to) {
            graph
                .get_mut(&from)
                .expect("every file's module is a node")
                .entry(to)
                .or_insert(at);
        }
    }
    Ok(graph)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

/// The tokens of Rust source that matter for paths, each with its line;
/// comments, strings and character literals are dropped.
fn tokens(text: &str) -> Vec<(Token, usize)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                i += 1;
            }
            i += 1;
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character: up to the closing quote.
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or label: its name is an identifier like any other.
                i += 1;
            }
        } else if ch == '_' || ch.is_alphabetic() {
            let start = i;
            while i < c.len() && (c[i] == '_' || c[i].is_alphanumeric()) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            // Raw strings: r"…", r#"…"#, br"…" (but r#ident is an identifier).
            if matches!(word.as_str(), "r" | "br" | "cr") {
                let mut hashes = 0;
                while at(i + hashes) == '#' {
                    hashes += 1;
                }
                if at(i + hashes) == '"' {
                    i += hashes + 1;
                    let close: Vec<char> = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    while i < c.len() && !c[i..].starts_with(&close) {
                        line += usize::from(c[i] == '\n');
                        i += 1;
                    }
                    i += close.len();
                    continue;
                }
            }
            if matches!(word.as_str(), "b" | "c") && matches!(at(i), '"' | '\'') {
                // b"…", b'…': the literal follows.
                continue;
            }
            out.push((Token::Ident(word), line));
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((Token::Path, line));
            i += 2;
        } else {
            out.push((Token::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// The crate-level modules a file refers to, with the line of each
/// reference. `depth` is how deep the file's module is: 1 for `src/a.rs`
/// and `src/a/mod.rs`, 2 for `src/a/b.rs`.
pub fn references(text: &str, depth: usize) -> Vec<(String, usize)> {
    let toks = tokens(text);
    let ident = |i: usize| match toks.get(i) {
        Some((Token::Ident(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let is = |i: usize, t: &Token| toks.get(i).is_some_and(|(x, _)| x == t);
    let mut out = Vec::new();
    // One entry per open brace: whether it opened an inline `mod`.
    let mut braces: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = &toks[i];
        if let Some(end) = test_only_item(&toks, i) {
            i = end + 1;
            continue;
        }
        match tok {
            Token::Punct('{') => {
                let is_mod = i >= 2 && ident(i - 2) == Some("mod") && ident(i - 1).is_some();
                braces.push(is_mod);
            }
            Token::Punct('}') => {
                braces.pop();
            }
            Token::Ident(w) if (w == "crate" || w == "super") && is(i + 1, &Token::Path) => {
                // Only at the start of a path: `a::super` is not one.
                let starts = i == 0 || !is(i - 1, &Token::Path);
                let crate_level = if w == "crate" {
                    true
                } else {
                    let mut ups = 0;
                    while ident(i + 2 * ups) == Some("super") && is(i + 2 * ups + 1, &Token::Path) {
                        ups += 1;
                    }
                    let here = depth + braces.iter().filter(|m| **m).count();
                    let crate_level = ups == here;
                    i += 2 * (ups - 1);
                    crate_level
                };
                if starts && crate_level {
                    let next = i + 2;
                    if let Some(name) = ident(next) {
                        out.push((name.to_string(), *line));
                    } else if is(next, &Token::Punct('{')) {
                        out.extend(group(&toks, next));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Where the item that `#[cfg(test)]` at `at` marks ends (its closing brace
/// or semicolon): test code may use any module, as a test module is a leaf
/// nobody imports, so it closes no circle worth reporting.
fn test_only_item(toks: &[(Token, usize)], at: usize) -> Option<usize> {
    let attr = [
        Token::Punct('#'),
        Token::Punct('['),
        Token::Ident("cfg".into()),
        Token::Punct('('),
        Token::Ident("test".into()),
        Token::Punct(')'),
        Token::Punct(']'),
    ];
    let marked = toks.get(at..at + attr.len())?;
    if !marked.iter().map(|(t, _)| t).eq(attr.iter()) {
        return None;
    }
    let mut depth = 0usize;
    for (j, (tok, _)) in toks.iter().enumerate().skip(at + attr.len()) {
        match tok {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j);
                }
            }
            Token::Punct(';') if depth == 0 => return Some(j),
            _ => {}
        }
    }
    Some(toks.len().saturating_sub(1))
}

/// The first names of each path in the `{…}` group opening at `open`.
fn group(toks: &[(Token, usize)], open: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut expect_name = true;
    for (tok, line) in &toks[open..] {
        match tok {
            Token::Punct('{') => {
                depth += 1;
                expect_name = depth == 1;
            }
            Token::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Punct(',') if depth == 1 => expect_name = true,
            Token::Ident(w) if depth == 1 && expect_name => {
                out.push((w.clone(), *line));
                expect_name = false;
            }
            _ => {}
        }
    }
    out
}

/// The circles: strongly connected components of more than one module,
/// each sorted, in name order (Tarjan's algorithm).
pub fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph[v].keys() {
                let w = w.as_str();
                if !self.graph.contains_key(w) {
                    continue;
                }
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.found.sort();
    t.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str, depth: usize) -> Vec<String> {
        references(text, depth)
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    fn graph_of(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::new();
        for (a, b) in edges {
            g.entry(a.to_string())
                .or_default()
                .insert(b.to_string(), String::new());
            g.entry(b.to_string()).or_default();
        }
        g
    }

    #[test]
    fn finds_plain_grouped_and_macro_paths() {
        let src = "use crate::a::X;\nuse crate::{b, c::{D, E}, self};\nfn f() { crate::d::go(); $crate::e::m!(); }\npub(crate) fn g() {}";
        assert_eq!(names(src, 1), ["a", "b", "c", "self", "d", "e"]);
        assert_eq!(references(src, 1)[3].1, 2, "lines are counted");
    }

    #[test]
    fn comments_strings_and_chars_are_not_references() {
        let src = r####"
            // use crate::a;
            /* crate::b /* nested */ crate::c */
            //! [`crate::d`]
            const S: &str = "crate::e";
            const R: &str = r#"crate::f " still"#;
            const C: char = '"';
            fn f<'a>(x: &'a str) -> &'a str { crate::g::h(x) }
        "####;
        assert_eq!(names(src, 1), ["g"]);
    }

    #[test]
    fn test_only_items_are_not_references() {
        let src = "use crate::a::X;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n    fn f() { crate::c::go(); }\n}\n#[cfg(test)]\nuse crate::d;\nfn g() { crate::e::go(); }";
        assert_eq!(names(src, 1), ["a", "e"]);
    }

    #[test]
    fn super_counts_only_where_it_reaches_the_crate_root() {
        // In src/a.rs, `super::` is the crate root; inside its `mod tests`, it is `a`.
        let src = "use super::b;\nmod tests { use super::*; use super::super::c; }";
        assert_eq!(names(src, 1), ["b", "c"]);
        // In src/a/x.rs, `super::` is `a` itself, `super::super::` the root.
        assert_eq!(
            names("use super::y;\nuse super::super::{d, e};", 2),
            ["d", "e"]
        );
    }

    #[test]
    fn tarjan_finds_each_circle_once() {
        let g = graph_of(&[
            ("a", "b"),
            ("b", "a"),
            ("c", "d"),
            ("d", "e"),
            ("e", "c"),
            ("e", "f"),
        ]);
        assert_eq!(circles(&g), [vec!["a", "b"], vec!["c", "d", "e"]]);
        let dag = graph_of(&[
            ("verdict", "banned"),
            ("verdict", "strength"),
            ("banned", "normalise"),
        ]);
        assert!(circles(&dag).is_empty());
    }

    #[test]
    fn the_crates_that_must_be_circle_free_are() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for dir in MUST_BE_FREE {
            let g = graph(&root.join(dir)).expect("a readable source folder");
            assert!(g.len() > 1, "{dir}: no modules found");
            assert_eq!(circles(&g), Vec::<Vec<String>>::new(), "{dir}");
        }
    }
}
