//! + one GET with gloo-net, its JSON body decoded by serde_json.
use leptos::prelude::*;

#[derive(serde::Deserialize)]
struct Config {
    name: String,
    min_length: u32,
    methods: Vec<String>,
}

async fn load() -> Result<String, String> {
    let r = gloo_net::http::Request::get("/api/config")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let c: Config = r.json().await.map_err(|e| e.to_string())?;
    Ok(format!("{} {} {}", c.name, c.min_length, c.methods.len()))
}

fn main() {
    leptos::mount::mount_to_body(|| {
        let org = LocalResource::new(load);
        view! { <p>{move || org.get().map(|r| r.unwrap_or_else(|e| e))}</p> }
    });
}
