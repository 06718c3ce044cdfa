use leptos::prelude::*;

use super::{brand::Brand, footer::Footer};

/// Header with the organisation's brand, the page, and the helpdesk footer.
#[component]
pub fn Layout(children: ChildrenFn) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">{t!("layout.skip")}</a>
        <header class="site-header">
            <Brand />
        </header>
        <main id="main" class="site-main">
            // Texts come from the catalog: wait for it rather than flash keys.
            <Show when=crate::i18n::ready>{children()}</Show>
        </main>
        <Footer />
    }
}
