//! A configuration error: where (file, line and column, or the environment
//! variable), the field, the reason; and for the file, the line it is on
//! with the bad value underlined.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Where a bad value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A line and column (1-based, the column in characters) in the file,
    /// when the error has a place in it.
    File {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
    },
    Env(String),
}

/// A configuration error: source, field, reason. Displayed on one line;
/// [`ConfigError::excerpt`] shows the place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub source: Source,
    pub field: Option<String>,
    pub reason: String,
    /// The file's line holding the error, and a second line underlining
    /// the span with `^` (boxed: `Result<Config, ConfigError>` stays small).
    pub excerpt: Option<Box<str>>,
}

impl ConfigError {
    /// An error in the file `path` whose text is `text`, at `span` (bytes).
    pub fn in_file(
        path: &Path,
        text: &str,
        span: Option<Range<usize>>,
        field: Option<String>,
        reason: String,
    ) -> ConfigError {
        let at = span.map(|s| locate(text, s));
        ConfigError {
            source: Source::File {
                path: path.to_path_buf(),
                line: at.as_ref().map(|a| a.0),
                column: at.as_ref().map(|a| a.1),
            },
            field,
            reason,
            excerpt: at.map(|a| a.2.into_boxed_str()),
        }
    }

    /// An error blamed on an environment variable, or on the file as a whole.
    pub fn elsewhere(source: Source, field: Option<String>, reason: String) -> ConfigError {
        ConfigError {
            source,
            field,
            reason,
            excerpt: None,
        }
    }

    /// The line of the file and the underlined span, when there is one.
    pub fn excerpt(&self) -> Option<&str> {
        self.excerpt.as_deref()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::File { path, line, column } => {
                write!(f, "{}", path.display())?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                    if let Some(c) = column {
                        write!(f, ":{c}")?;
                    }
                }
            }
            Source::Env(var) => write!(f, "environment variable {var}")?,
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Line (1-based), column (1-based, in characters) and the excerpt of `span` in `text`.
fn locate(text: &str, span: Range<usize>) -> (usize, usize, String) {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_no = text[..start].bytes().filter(|b| *b == b'\n').count() + 1;
    let src = text[line_start..line_end].trim_end_matches('\r');
    let before = &text[line_start..start];
    let column = before.chars().count() + 1;
    // The span, cut at the end of its first line; at least one caret.
    let end = floor_char_boundary(text, span.end.clamp(start, line_start + src.len()));
    let width = text[start..end].chars().count().max(1);
    let pad: String = before
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let gutter = " ".repeat(line_no.to_string().len());
    let excerpt = format!("{line_no} | {src}\n{gutter} | {pad}{}", "^".repeat(width));
    (line_no, column, excerpt)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_excerpt_underlines_the_span() {
        let text = "[policy]\nmethods_required = 3\n";
        let e = ConfigError::in_file(
            Path::new("/etc/sspr/sspr.toml"),
            text,
            Some(28..29),
            Some("policy.methods_required".into()),
            "must be 1 or 2, not 3".into(),
        );
        assert_eq!(
            e.to_string(),
            "/etc/sspr/sspr.toml:2:20: field `policy.methods_required`: must be 1 or 2, not 3"
        );
        assert_eq!(
            e.excerpt(),
            Some("2 | methods_required = 3\n  |                    ^")
        );
        // Columns count characters, not bytes.
        let (l, c, x) = locate("a = \"é\"\nb = 9\n", 5..7);
        assert_eq!((l, c), (1, 6));
        assert_eq!(x, "1 | a = \"é\"\n  |      ^");
    }
}
