use super::app_link::AppLink;
use leptos::prelude::*;

use crate::shell::use_theme;

/// Logo and organisation name from the theme file.
#[component]
pub fn Brand() -> impl IntoView {
    let theme = use_theme();
    move || {
        match theme.get() {
            Some(Ok(t)) => view! {
                <AppLink href="/" class="brand">
                    // The name is beside the logo, so the image is decorative.
                    {t.logo.clone().map(|src| view! {
                        <picture>
                            {t.logo_dark.clone().map(|dark| view! {
                                <source srcset=dark media="(prefers-color-scheme: dark)" />
                            })}
                            <img class="brand-logo" src=src alt="" width="40" height="40" />
                        </picture>
                    })}
                    <span class="brand-name" dir="auto">{t.organisation}</span>
                </AppLink>
            }
            .into_any(),
            Some(Err(_)) => view! { <span class="brand-name">{t!("app.name")}</span> }.into_any(),
            None => view! { <span class="brand-name brand-loading" aria-hidden="true"></span> }
                .into_any(),
        }
    }
}
