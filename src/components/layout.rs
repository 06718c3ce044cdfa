use leptos::prelude::*;

use super::{brand::Brand, footer::Footer};

/// Header with the organisation's brand, the page, and the helpdesk footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to main content"</a>
        <header class="site-header">
            <Brand />
        </header>
        <main id="main" class="site-main">
            {children()}
        </main>
        <Footer />
    }
}
