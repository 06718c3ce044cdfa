//! The account app: `/signin`, `/security-info` (account.html).
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(sspr_web::AccountApp);
}
