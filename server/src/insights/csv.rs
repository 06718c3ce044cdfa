//! CSV for the exports (RFC 4180: every cell quoted, `"` doubled, CRLF
//! line ends, UTF-8), defused against formula injection: a cell a
//! spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`,
//! a tab, a carriage return or a line feed, or their full-width forms) gets
//! a leading `'`, so it shows as text. Audit events hold what people typed
//! (an identifier, a user name), so an attacker could otherwise plant a
//! formula for an administrator to open.

use sspr_proto::insights::{DayActivity, UserRef};

use super::ExportedEvent;
use crate::methods;

pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// First characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: &[char] = &[
    '=', '+', '-', '@', '\t', '\r', '\n', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
];

/// One cell: defused, then quoted.
pub fn cell(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 3);
    out.push('"');
    if value.starts_with(FORMULA_STARTS) {
        out.push('\'');
    }
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One line: its cells, comma-separated, ended by CRLF.
pub fn row<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut line = cells
        .into_iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The header of an events export.
pub fn events_header() -> String {
    row([
        "id", "at", "time", "activity", "actor", "target", "method", "result", "ip", "flow",
        "detail",
    ])
}

pub fn event_row(e: &ExportedEvent) -> String {
    let result = match e.result {
        sspr_proto::insights::EventResult::Success => "success",
        sspr_proto::insights::EventResult::Failure => "failure",
    };
    row([
        e.id.as_str(),
        &e.at.to_string(),
        &e.time,
        &e.activity,
        &e.actor,
        e.target.as_deref().unwrap_or(""),
        e.method.as_deref().unwrap_or(""),
        result,
        &e.ip,
        e.flow.as_deref().unwrap_or(""),
        e.detail.as_deref().unwrap_or(""),
    ])
}

/// Activity by day: one line a day, proofs as `<kind>_passed` and
/// `<kind>_failed` columns.
pub fn activity(days: &[DayActivity]) -> String {
    let mut header: Vec<String> = ["date", "resets", "unlocks", "blocks", "registrations"]
        .map(String::from)
        .to_vec();
    if let Some(first) = days.first() {
        for p in &first.proofs {
            let k = methods::kind_str(p.kind);
            header.push(format!("{k}_passed"));
            header.push(format!("{k}_failed"));
        }
    }
    let mut out = row(header);
    for d in days {
        let mut cells = vec![
            d.date.clone(),
            d.resets.to_string(),
            d.unlocks.to_string(),
            d.blocks.to_string(),
            d.registrations.to_string(),
        ];
        for p in &d.proofs {
            cells.push(p.passed.to_string());
            cells.push(p.failed.to_string());
        }
        out.push_str(&row(cells));
    }
    out
}

/// Users in scope who registered nothing.
pub fn users(list: &[UserRef]) -> String {
    let mut out = row(["username", "display_name"]);
    for u in list {
        out.push_str(&row([u.username.as_str(), u.display_name.as_str()]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_quotes_doubled() {
        assert_eq!(cell("bob"), "\"bob\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for bad in ["+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx", "\u{ff1d}1"] {
            assert!(cell(bad).starts_with("\"'"), "{bad:?}");
        }
        assert_eq!(cell("a,b\r\nc"), "\"a,b\r\nc\"");
        assert_eq!(cell(""), "\"\"");
        // Not at the start: left alone.
        assert_eq!(cell("a=b"), "\"a=b\"");
        assert_eq!(row(["a", "=1"]), "\"a\",\"'=1\"\r\n");
    }
}
