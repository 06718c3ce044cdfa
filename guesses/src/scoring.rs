//! zxcvbn's search for the least-guessable-for-the-attacker reading of a
//! password: each match's guesses, then the cheapest sequence of matches
//! (and brute-forced gaps) that covers it.

use crate::keyboard::graphs;
use crate::matching::{Match, Pattern};

const BRUTEFORCE_CARDINALITY: f64 = 10.0;
const MIN_GUESSES_BEFORE_GROWING_SEQUENCE: f64 = 10_000.0;
const MIN_SUBMATCH_GUESSES_SINGLE_CHAR: f64 = 10.0;
const MIN_SUBMATCH_GUESSES_MULTI_CHAR: f64 = 50.0;
const MIN_YEAR_SPACE: i32 = 20;

/// n choose k, in floating point as zxcvbn computes it.
pub fn n_ck(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    let (mut n, mut r) = (n as f64, 1.0);
    for d in 1..=k {
        r *= n;
        r /= d as f64;
        n -= 1.0;
    }
    r
}

fn factorial(n: usize) -> f64 {
    (2..=n).map(|i| i as f64).product()
}

/// A match's own guesses, before the floor for matches shorter than the
/// password.
fn raw_guesses(m: &Match, reference_year: i32) -> f64 {
    match m.pattern {
        Pattern::Bruteforce => {
            let mut g = BRUTEFORCE_CARDINALITY.powi(m.chars() as i32);
            if g.is_infinite() {
                g = f64::MAX;
            }
            // One more than any real submatch of the same span, so those win.
            let floor = if m.chars() == 1 {
                MIN_SUBMATCH_GUESSES_SINGLE_CHAR + 1.0
            } else {
                MIN_SUBMATCH_GUESSES_MULTI_CHAR + 1.0
            };
            g.max(floor)
        }
        Pattern::Dictionary {
            rank,
            reversed,
            variations,
            ..
        } => f64::from(rank) * variations * if reversed { 2.0 } else { 1.0 },
        Pattern::Spatial {
            layout,
            turns,
            shifted,
        } => {
            let g = graphs();
            let (s, d) = if layout.is_keyboard() {
                g.keyboard_stats
            } else {
                g.keypad_stats
            };
            let len = m.chars();
            let mut g = 0.0;
            for i in 2..=len {
                for j in 1..=turns.min(i - 1) {
                    g += n_ck(i - 1, j - 1) * s * d.powi(j as i32);
                }
            }
            if shifted > 0 {
                let unshifted = len - shifted;
                if unshifted == 0 {
                    g *= 2.0;
                } else {
                    g *= (1..=shifted.min(unshifted))
                        .map(|i| n_ck(shifted + unshifted, i))
                        .sum::<f64>();
                }
            }
            g
        }
        Pattern::Repeat {
            base_guesses,
            count,
            ..
        } => base_guesses * count as f64,
        Pattern::Sequence { base } => base * m.chars() as f64,
        Pattern::RecentYear { year } => {
            f64::from((year - reference_year).abs().max(MIN_YEAR_SPACE))
        }
        Pattern::Date { year, separator } => {
            let space = (year - reference_year).abs().max(MIN_YEAR_SPACE);
            f64::from(space) * 365.0 * if separator { 4.0 } else { 1.0 }
        }
    }
}

/// A match's guesses, at least 10 (one character) or 50 when it does not
/// cover the whole password.
pub fn guesses(m: &Match, password_chars: usize, reference_year: i32) -> f64 {
    let floor = if m.chars() >= password_chars {
        1.0
    } else if m.chars() == 1 {
        MIN_SUBMATCH_GUESSES_SINGLE_CHAR
    } else {
        MIN_SUBMATCH_GUESSES_MULTI_CHAR
    };
    raw_guesses(m, reference_year).max(floor)
}

/// A match with its guesses, as placed in a sequence.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub m: Match,
    pub guesses: f64,
}

/// The cheapest reading: its total guesses and its matches, in order.
#[derive(Debug, Clone)]
pub struct Reading {
    pub guesses: f64,
    pub sequence: Vec<Scored>,
}

#[derive(Clone, Copy)]
struct Best {
    /// Index into the candidate list.
    m: usize,
    /// The product of the sequence's guesses.
    pi: f64,
    /// The objective: l! · pi + 10000^(l-1).
    g: f64,
}

/// zxcvbn's `most_guessable_match_sequence`; `matches` sorted by `(i, j)`.
pub fn most_guessable(password: &[char], matches: &[Match], reference_year: i32) -> Reading {
    let n = password.len();
    if n == 0 {
        return Reading {
            guesses: 1.0,
            sequence: vec![],
        };
    }
    let mut cands: Vec<Scored> = matches
        .iter()
        .map(|m| Scored {
            m: *m,
            guesses: guesses(m, n, reference_year),
        })
        .collect();
    let mut by_end: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (idx, s) in cands.iter().enumerate() {
        by_end[s.m.j].push(idx);
    }
    for list in &mut by_end {
        list.sort_by_key(|idx| cands[*idx].m.i);
    }
    // best[k][l]: the best length-l sequence covering password[..=k].
    let mut best: Vec<Vec<Option<Best>>> = vec![vec![None; n + 1]; n];

    let update = |best: &mut Vec<Vec<Option<Best>>>, cands: &[Scored], idx: usize, l: usize| {
        let m = cands[idx];
        let k = m.m.j;
        let mut pi = m.guesses;
        if l > 1 {
            match best[m.m.i - 1][l - 1] {
                Some(prev) => pi *= prev.pi,
                None => return,
            }
        }
        let g = factorial(l) * pi + MIN_GUESSES_BEFORE_GROWING_SEQUENCE.powi(l as i32 - 1);
        // A sequence as short or shorter that does as well wins.
        if best[k][..=l].iter().flatten().any(|c| c.g <= g) {
            return;
        }
        best[k][l] = Some(Best { m: idx, pi, g });
    };

    for (k, ending) in by_end.iter().enumerate() {
        for &idx in ending {
            let i = cands[idx].m.i;
            if i > 0 {
                for l in 1..=n {
                    if best[i - 1][l].is_some() {
                        update(&mut best, &cands, idx, l + 1);
                    }
                }
            } else {
                update(&mut best, &cands, idx, 1);
            }
        }
        // Brute force: one run over the whole prefix, or a run after a
        // sequence that does not already end in brute force.
        let brute = |i: usize, cands: &mut Vec<Scored>| {
            let m = Match {
                i,
                j: k,
                pattern: Pattern::Bruteforce,
            };
            cands.push(Scored {
                m,
                guesses: guesses(&m, n, reference_year),
            });
            cands.len() - 1
        };
        let idx = brute(0, &mut cands);
        update(&mut best, &cands, idx, 1);
        for i in 1..=k {
            let idx = brute(i, &mut cands);
            for l in 1..=n {
                let Some(last) = best[i - 1][l] else { continue };
                if matches!(cands[last.m].m.pattern, Pattern::Bruteforce) {
                    continue;
                }
                update(&mut best, &cands, idx, l + 1);
            }
        }
    }

    // Unwind from the end along the best length.
    let mut l = 0;
    let mut g = f64::INFINITY;
    for (cl, c) in best[n - 1].iter().enumerate() {
        if let Some(c) = c
            && c.g < g
        {
            (l, g) = (cl, c.g);
        }
    }
    let mut sequence = Vec::with_capacity(l);
    let mut k = n as isize - 1;
    while k >= 0 && l > 0 {
        let Some(b) = best[k as usize][l] else { break };
        let s = cands[b.m];
        sequence.push(s);
        k = s.m.i as isize - 1;
        l -= 1;
    }
    sequence.reverse();
    Reading {
        guesses: g,
        sequence,
    }
}

/// zxcvbn's 0–4 score.
pub fn score(guesses: f64) -> u8 {
    const DELTA: f64 = 5.0;
    match guesses {
        g if g < 1e3 + DELTA => 0,
        g if g < 1e6 + DELTA => 1,
        g if g < 1e8 + DELTA => 2,
        g if g < 1e10 + DELTA => 3,
        _ => 4,
    }
}
