//! `cargo bench -p sspr-guesses`: what the estimator costs natively, the
//! one-off decode of the word lists, then a median estimate per length.
//! (The browser figures come from `cargo xtask bench-web`.) Asserts nothing.

use std::hint::black_box;
use std::time::{Duration, Instant};

const WORDS: [&str; 12] = [
    "tangerine",
    "Vortex",
    "qu1ll",
    "harbour",
    "2019",
    "P@ssw0rd",
    "dragon",
    "qwerty",
    "kayak",
    "horse",
    "-",
    "staple",
];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let t = Instant::now();
    sspr_guesses::warm_up();
    println!(
        "word lists decoded and indexed in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    println!("length   median estimate (ms)");
    let mut seed = 7u64;
    for len in [8, 16, 32, 64, 100] {
        let mut times = Vec::new();
        for _ in 0..41 {
            let mut p = String::new();
            while p.chars().count() < len {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                p.push_str(WORDS[(seed >> 33) as usize % WORDS.len()]);
            }
            let p: String = p.chars().take(len).collect();
            let t = Instant::now();
            black_box(sspr_guesses::estimate(
                black_box(&p),
                &["alice", "Northgate"],
                2026,
            ));
            times.push(t.elapsed());
        }
        println!("{len:>6}   {:>20.3}", median(times).as_secs_f64() * 1e3);
    }
}
