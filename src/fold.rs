//! [`fold_answer`]: the SPA's fold of a security answer before it checks a
//! registration, the same as [`sspr_proto::security_info::fold_case_and_spacing`]
//! but lowercased by the browser (`String.prototype.toLowerCase`, Unicode's
//! full default lowercase mapping with final sigma, as Rust's
//! `str::to_lowercase`). Rust's own mapping links its Unicode case tables into
//! the wasm: the account page was 6.7 KB brotli larger with it. The server
//! still folds with Rust (after NFKC) and decides; `tests/web.rs` checks that
//! both folds agree.

/// Lowercased, runs of whitespace made one space, trimmed.
pub fn fold_answer(answer: &str) -> String {
    let lower = String::from(js_sys::JsString::from(answer).to_lower_case());
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}
