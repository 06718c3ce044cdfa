//! The worker's entry point, built by trunk as a second target
//! (`data-type="worker"`), loaded by the page only when it needs it.

fn main() {
    #[cfg(target_arch = "wasm32")]
    sspr_strength::start();
}
