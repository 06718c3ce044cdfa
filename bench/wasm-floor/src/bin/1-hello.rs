//! One static paragraph: leptos's mount and the wasm-bindgen glue.
use leptos::prelude::*;

fn main() {
    leptos::mount::mount_to_body(|| view! { <p>"Reset your password"</p> });
}
