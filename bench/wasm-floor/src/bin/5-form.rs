//! + the shape of the reset page's first step: `Suspense`, a bound input,
//! `Show`, and an `Action` that POSTs a JSON body and decodes the reply.
use leptos::prelude::*;

#[derive(serde::Deserialize)]
struct Config {
    name: String,
    min_length: u32,
    methods: Vec<String>,
}

#[derive(serde::Serialize)]
struct Identify {
    username: String,
}

#[derive(serde::Deserialize)]
struct Step {
    flow: String,
}

async fn load() -> Result<String, String> {
    let r = gloo_net::http::Request::get("/api/config")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let c: Config = r.json().await.map_err(|e| e.to_string())?;
    Ok(format!("{} {} {}", c.name, c.min_length, c.methods.len()))
}

async fn identify(username: String) -> Result<String, String> {
    let r = gloo_net::http::Request::post("/api/reset")
        .json(&Identify { username })
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let s: Step = r.json().await.map_err(|e| e.to_string())?;
    Ok(s.flow)
}

fn main() {
    leptos::mount::mount_to_body(|| {
        let org = LocalResource::new(load);
        let (name, set_name) = signal(String::new());
        let next = Action::new_local(|u: &String| identify(u.clone()));
        view! {
            <Suspense fallback=|| "…">
                <h1>{move || org.get().map(|r| r.unwrap_or_else(|e| e))}</h1>
            </Suspense>
            <label for="u">"Username"</label>
            <input id="u" prop:value=name on:input=move |ev| set_name.set(event_target_value(&ev)) />
            <Show when=move || name.with(String::is_empty)>
                <p>"Enter your username."</p>
            </Show>
            <button on:click=move |_| {
                next.dispatch(name.get_untracked());
            }>"Next"</button>
            <p>{move || next.value().get().map(|r| r.unwrap_or_else(|e| e))}</p>
        }
    });
}
