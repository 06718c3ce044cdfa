use leptos::prelude::*;

use super::{FocusHeading, use_info};

fn as_text(codes: &[String]) -> String {
    let mut t = crate::i18n::t("codes.file_header");
    t.push_str("\n\n");
    for c in codes {
        t.push_str(c);
        t.push('\n');
    }
    t
}

/// `text` as a `data:` URL for the download link.
fn data_url(text: &str) -> String {
    let mut out = String::from("data:text/plain;charset=utf-8,");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fresh recovery codes, shown once, with copy, download and print.
#[component]
pub fn FreshCodes() -> impl IntoView {
    let info = use_info();
    let (copied, set_copied) = signal(false);
    move || {
        info.codes.get().map(|codes| {
            let text = as_text(&codes);
            let copy_text = text.clone();
            view! {
                <section class="recovery-codes printable">
                    <FocusHeading>{t!("codes.heading")}</FocusHeading>
                    <p>{t!("codes.body")}</p>
                    <ol class="codes" aria-label=t!("method.recovery_code")>
                        {codes.iter().map(|c| view! { <li><code>{c.clone()}</code></li> }).collect_view()}
                    </ol>
                    <div class="actions no-print">
                        <button type="button" class="secondary" on:click=move |_| {
                            if let Some(w) = web_sys::window() {
                                let _ = w.navigator().clipboard().write_text(&copy_text);
                                set_copied.set(true);
                            }
                        }>{t!("codes.copy")}</button>
                        <a class="button-link secondary" href=data_url(&text) download="recovery-codes.txt">{t!("codes.download")}</a>
                        <button type="button" class="secondary" on:click=move |_| {
                            if let Some(w) = web_sys::window() {
                                let _ = w.print();
                            }
                        }>{t!("codes.print")}</button>
                    </div>
                    <p role="status" class="no-print">{move || copied.get().then(|| crate::i18n::t("codes.copied"))}</p>
                    <button type="button" class="primary no-print" on:click=move |_| info.codes.set(None)>
                        {t!("codes.saved")}
                    </button>
                </section>
            }
        })
    }
}
