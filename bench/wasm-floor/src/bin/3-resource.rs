//! + a `LocalResource` (no network): the async runtime.
use leptos::prelude::*;

async fn load() -> Result<String, String> {
    Ok("Northgate".into())
}

fn main() {
    leptos::mount::mount_to_body(|| {
        let org = LocalResource::new(load);
        view! { <p>{move || org.get().map(|r| r.unwrap_or_default())}</p> }
    });
}
