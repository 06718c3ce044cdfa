//! `cargo run -p sspr-guesses --example explain -- PASSWORD...`: the
//! cheapest reading behind each verdict (reference year 2026, no user words).
fn main() {
    for p in std::env::args().skip(1) {
        let e = sspr_guesses::estimate(&p, INPUTS, 2026);
        println!(
            "{:>24} guesses, score {}, {:?}",
            e.guesses, e.score, e.feedback
        );
        for m in sspr_guesses::explain(&p, INPUTS, 2026) {
            println!("    {m}");
        }
    }
}
const INPUTS: &[&str] = &[
    "alice",
    "Alice Andersen",
    "alice@example.com",
    "Northgate",
    "Northgate Traders",
];
