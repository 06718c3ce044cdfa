//! The insights app: `/insights`, usage & insights for administrators
//! (insights.html). Its own wasm, so neither the reset page nor security
//! info carries the charts.
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(sspr_web::InsightsApp);
}
