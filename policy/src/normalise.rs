//! The text forms the rules compare: NFKC for length and matching (NIST
//! SP 800-63B counts code points after NFKC, with no truncation), and
//! Entra's fold for names and banned words.

/// The password as the directory will receive it: NFKC-normalised.
pub fn normalise(password: &str) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use unicode_normalization::UnicodeNormalization;
        password.nfkc().collect()
    }
    // In the browser, its own NFKC (ICU) instead of a second copy of the
    // Unicode tables in the strength worker: about 30 KB brotli less. The
    // wasm parity test holds the two to the same verdicts.
    #[cfg(target_arch = "wasm32")]
    {
        String::from(js_sys::JsString::from(password).normalize("NFKC"))
    }
}

/// Entra's normalisation for name and banned-word matching: lowercase, then
/// 0→o, 1→l, $→s, @→a.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'l',
            '$' => 's',
            '@' => 'a',
            c => c,
        })
        .collect()
}
