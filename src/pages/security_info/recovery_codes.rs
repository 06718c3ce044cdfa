use leptos::prelude::*;

use super::{FocusHeading, use_info};

fn as_text(codes: &[String]) -> String {
    let mut t = String::from(
        "Recovery codes. Each works once, in place of a code from another method.\n\n",
    );
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
                    <FocusHeading>"Save your recovery codes"</FocusHeading>
                    <p>"Each code works once, when you can't use your other methods. Keep them somewhere safe: you won't see them again."</p>
                    <ol class="codes" aria-label="Recovery codes">
                        {codes.iter().map(|c| view! { <li><code>{c.clone()}</code></li> }).collect_view()}
                    </ol>
                    <div class="actions no-print">
                        <button type="button" class="secondary" on:click=move |_| {
                            if let Some(w) = web_sys::window() {
                                let _ = w.navigator().clipboard().write_text(&copy_text);
                                set_copied.set(true);
                            }
                        }>"Copy"</button>
                        <a class="button-link secondary" href=data_url(&text) download="recovery-codes.txt">"Download"</a>
                        <button type="button" class="secondary" on:click=move |_| {
                            if let Some(w) = web_sys::window() {
                                let _ = w.print();
                            }
                        }>"Print"</button>
                    </div>
                    <p role="status" class="no-print">{move || copied.get().then_some("Copied to the clipboard.")}</p>
                    <button type="button" class="primary no-print" on:click=move |_| info.codes.set(None)>
                        "I've saved my codes"
                    </button>
                </section>
            }
        })
    }
}
