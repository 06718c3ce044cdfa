//! `cargo bench -p sspr-strength`: where a strength check's time goes, by
//! password length, natively. The browser figures (the same engine in a Web
//! Worker beside JS zxcvbn) come from `cargo xtask bench-web`.
//!
//! Prints medians; asserts nothing.

use std::hint::black_box;
use std::time::{Duration, Instant};

use sspr_policy::banned;
use sspr_policy::strength::strength;
use sspr_policy::{Banned, Owner, normalise, report};
use sspr_proto::config::PasswordRules;

const LENGTHS: [usize; 5] = [8, 16, 32, 64, 100];
const PER_LENGTH: usize = 41;
const WORDS: [&str; 20] = [
    "tangerine",
    "vortex",
    "quill",
    "harbour",
    "Northgate",
    "summer",
    "P@ssw0rd",
    "dragon",
    "kayak",
    "correct",
    "horse",
    "battery",
    "staple",
    "qwerty",
    "alice",
    "2026",
    "monkey",
    "zebra",
    "lantern",
    "orbit",
];

/// Word-and-symbol mixes of `len` characters, from a fixed seed.
fn passwords(len: usize, seed: &mut u64) -> Vec<String> {
    let mut next = |n: usize| {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as usize % n
    };
    (0..PER_LENGTH)
        .map(|_| {
            let mut s = String::new();
            while s.len() < len {
                s.push_str(WORDS[next(WORDS.len())]);
                s.push(['-', '!', '7', '#'][next(4)]);
            }
            s.chars().take(len).collect()
        })
        .collect()
}

fn median(f: impl Fn(&str), inputs: &[String]) -> Duration {
    let mut times: Vec<Duration> = inputs
        .iter()
        .map(|p| {
            let t = Instant::now();
            f(p);
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let owner = Owner {
        username: "alice",
        display_name: "Alice Andersen",
        email: Some("alice@example.com"),
    };
    let terms = banned::global_terms();
    let banned = Banned {
        terms: &terms,
        organisation: "Northgate",
    };
    let rules = PasswordRules {
        min_length: 8,
        max_length: 256,
        min_score: 3,
        complexity: false,
    };
    let mut seed = 20_261_122;
    println!("sspr strength check, native, median of {PER_LENGTH} passwords per length");
    println!("length   whole report (ms)   banned rule (ms)   zxcvbn (ms)");
    for len in LENGTHS {
        let inputs = passwords(len, &mut seed);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let whole = median(
            |p| drop(black_box(report(p, &rules, &owner, Some(&banned), 2026))),
            &inputs,
        );
        let ban = median(
            |p| drop(black_box(banned.evaluate(&normalise(p), &owner))),
            &inputs,
        );
        let zx = median(
            |p| {
                drop(black_box(strength(
                    &normalise(p),
                    &owner,
                    Some("Northgate"),
                    2026,
                )))
            },
            &inputs,
        );
        println!(
            "{len:>6}   {:>17.3}   {:>16.3}   {:>11.3}",
            ms(whole),
            ms(ban),
            ms(zx)
        );
    }
}
