//! zxcvbn's matchers: every dictionary word (plain, reversed, l33t), keyboard
//! pattern, repeat, sequence, recent year and date in a password, each with
//! its guess estimate. Patterns are scanned by hand, not with regexes, so no
//! regex engine (and its Unicode tables) ships to the browser.

use crate::dictionary::{Dictionary, Ranked};
use crate::keyboard::{Layout, graphs};
use crate::scoring::{self, n_ck};

/// What a match is. Holds numbers only, never the password's characters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pattern {
    Dictionary {
        dictionary: Dictionary,
        rank: u32,
        reversed: bool,
        l33t: bool,
        /// Capitalisation and substitution variants an attacker would try.
        variations: f64,
    },
    Spatial {
        layout: Layout,
        turns: usize,
        shifted: usize,
    },
    Repeat {
        base_chars: usize,
        base_guesses: f64,
        count: usize,
    },
    Sequence {
        /// Guesses per character: 4 from an obvious start, 10 for digits,
        /// 26 otherwise, doubled when descending.
        base: f64,
    },
    RecentYear {
        year: i32,
    },
    Date {
        year: i32,
        separator: bool,
    },
    Bruteforce,
}

/// A pattern found at characters `i..=j`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub i: usize,
    pub j: usize,
    pub pattern: Pattern,
}

impl Match {
    pub fn chars(&self) -> usize {
        self.j + 1 - self.i
    }
}

/// What every matcher needs besides the password.
#[derive(Debug)]
pub struct Context<'a> {
    pub ranked: &'a Ranked,
    pub user: &'a Ranked,
    pub reference_year: i32,
}

/// All matches, ordered by `(i, j)` with ties in matcher order.
pub fn omnimatch(password: &[char], cx: &Context<'_>) -> Vec<Match> {
    let mut out = Vec::new();
    dictionary_match(password, cx, &mut out);
    reverse_dictionary_match(password, cx, &mut out);
    l33t_match(password, cx, &mut out);
    spatial_match(password, &mut out);
    repeat_match(password, cx, &mut out);
    sequence_match(password, &mut out);
    recent_year_match(password, &mut out);
    date_match(password, cx, &mut out);
    // Stable, so equal spans keep matcher order.
    out.sort_by_key(|m| (m.i, m.j));
    out
}

fn lower(c: char) -> char {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(one), None) => one,
        _ => c,
    }
}

/// Each `(i, j, list, rank)` where `chars[i..=j]` is a dictionary word,
/// in zxcvbn's order (shipped lists before the user's words).
fn dictionary_spans(
    chars: &[char],
    cx: &Context<'_>,
    found: &mut dyn FnMut(usize, usize, Dictionary, u32),
) {
    let mut key = String::new();
    for ranked in [cx.ranked, cx.user] {
        for i in 0..chars.len() {
            key.clear();
            for (j, c) in chars.iter().enumerate().skip(i).take(ranked.max_chars) {
                key.push(*c);
                if let Some((d, rank)) = ranked.get(&key) {
                    found(i, j, d, rank);
                }
            }
        }
    }
}

/// `^[A-Z][^A-Z]+$`, `^[^A-Z]+[A-Z]$`, `^[^a-z]+$`: zxcvbn's ASCII-only
/// capitalisation classes.
pub fn starts_upper(token: &[char]) -> bool {
    token.len() > 1
        && token[0].is_ascii_uppercase()
        && !token[1..].iter().any(char::is_ascii_uppercase)
}
fn ends_upper(token: &[char]) -> bool {
    let n = token.len();
    n > 1
        && token[n - 1].is_ascii_uppercase()
        && !token[..n - 1].iter().any(char::is_ascii_uppercase)
}
pub fn all_upper(token: &[char]) -> bool {
    !token.is_empty() && !token.iter().any(char::is_ascii_lowercase)
}

pub fn uppercase_variations(token: &[char]) -> f64 {
    if !token.iter().any(char::is_ascii_uppercase) {
        return 1.0;
    }
    if starts_upper(token) || ends_upper(token) || all_upper(token) {
        return 2.0;
    }
    let u = token.iter().filter(|c| c.is_ascii_uppercase()).count();
    let l = token.iter().filter(|c| c.is_ascii_lowercase()).count();
    (1..=u.min(l)).map(|i| n_ck(u + l, i)).sum()
}

fn dictionary_match(password: &[char], cx: &Context<'_>, out: &mut Vec<Match>) {
    let lowered: Vec<char> = password.iter().map(|c| lower(*c)).collect();
    dictionary_spans(&lowered, cx, &mut |i, j, dictionary, rank| {
        out.push(Match {
            i,
            j,
            pattern: Pattern::Dictionary {
                dictionary,
                rank,
                reversed: false,
                l33t: false,
                variations: uppercase_variations(&password[i..=j]),
            },
        })
    });
}

fn reverse_dictionary_match(password: &[char], cx: &Context<'_>, out: &mut Vec<Match>) {
    let n = password.len();
    let reversed: Vec<char> = password.iter().rev().copied().collect();
    let lowered: Vec<char> = reversed.iter().map(|c| lower(*c)).collect();
    dictionary_spans(&lowered, cx, &mut |i, j, dictionary, rank| {
        let (i, j) = (n - 1 - j, n - 1 - i);
        out.push(Match {
            i,
            j,
            pattern: Pattern::Dictionary {
                dictionary,
                rank,
                reversed: true,
                l33t: false,
                variations: uppercase_variations(&password[i..=j]),
            },
        })
    });
}

const L33T_TABLE: [(char, &str); 12] = [
    ('a', "4@"),
    ('b', "8"),
    ('c', "({[<"),
    ('e', "3"),
    ('g', "69"),
    ('i', "1!|"),
    ('l', "1|7"),
    ('o', "0"),
    ('s', "$5"),
    ('t', "+7"),
    ('x', "%"),
    ('z', "2"),
];

/// zxcvbn's `enumerate_l33t_subs` over the substitutions present in the
/// password: each result maps l33t characters to letters, at most one l33t
/// character per letter, and a character claimed by two letters (`1` for
/// `i` or `l`) gives one map per reading.
fn l33t_subs(password: &[char]) -> Vec<Vec<(char, char)>> {
    let mut subs: Vec<Vec<(char, char)>> = vec![vec![]];
    for (letter, l33ts) in L33T_TABLE {
        let present: Vec<char> = l33ts.chars().filter(|c| password.contains(c)).collect();
        if present.is_empty() {
            continue;
        }
        let mut next = Vec::new();
        for l in present {
            for sub in &subs {
                match sub.iter().position(|(s, _)| *s == l) {
                    None => {
                        let mut ext = sub.clone();
                        ext.push((l, letter));
                        next.push(ext);
                    }
                    Some(dup) => {
                        let mut alt = sub.clone();
                        alt.remove(dup);
                        alt.push((l, letter));
                        next.push(sub.clone());
                        next.push(alt);
                    }
                }
            }
        }
        // Dedup on the sorted (letter, l33t) pairs, keeping first seen.
        let mut seen: Vec<Vec<(char, char)>> = Vec::new();
        subs = next
            .into_iter()
            .filter(|sub| {
                let mut label: Vec<(char, char)> = sub.iter().map(|(k, v)| (*v, *k)).collect();
                label.sort_unstable();
                if seen.contains(&label) {
                    false
                } else {
                    seen.push(label);
                    true
                }
            })
            .collect();
    }
    subs
}

fn l33t_variations(token: &[char], sub: &[(char, char)]) -> f64 {
    let lowered: Vec<char> = token.iter().map(|c| lower(*c)).collect();
    let mut variations = 1.0;
    for (subbed, unsubbed) in sub {
        let s = lowered.iter().filter(|c| *c == subbed).count();
        let u = lowered.iter().filter(|c| *c == unsubbed).count();
        if s == 0 || u == 0 {
            variations *= 2.0;
        } else {
            variations *= (1..=s.min(u)).map(|i| n_ck(u + s, i)).sum::<f64>();
        }
    }
    variations
}

fn l33t_match(password: &[char], cx: &Context<'_>, out: &mut Vec<Match>) {
    let mut found = Vec::new();
    for sub in l33t_subs(password) {
        if sub.is_empty() {
            break;
        }
        let subbed: Vec<char> = password
            .iter()
            .map(|c| sub.iter().find(|(s, _)| s == c).map_or(*c, |(_, l)| *l))
            .map(lower)
            .collect();
        dictionary_spans(&subbed, cx, &mut |i, j, dictionary, rank| {
            let token = &password[i..=j];
            // Only spans with an actual substitution, and more than one
            // character ('1' as "i" would be noise).
            if token.len() < 2
                || token
                    .iter()
                    .map(|c| lower(*c))
                    .eq(subbed[i..=j].iter().copied())
            {
                return;
            }
            let used: Vec<(char, char)> = sub
                .iter()
                .filter(|(s, _)| token.contains(s))
                .copied()
                .collect();
            found.push(Match {
                i,
                j,
                pattern: Pattern::Dictionary {
                    dictionary,
                    rank,
                    reversed: false,
                    l33t: true,
                    variations: uppercase_variations(token) * l33t_variations(token, &used),
                },
            });
        });
    }
    found.sort_by_key(|m| (m.i, m.j));
    out.extend(found);
}

fn shifted(c: char) -> bool {
    "~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:\"ZXCVBNM<>?".contains(c)
}

fn spatial_match(password: &[char], out: &mut Vec<Match>) {
    let mut found = Vec::new();
    let n = password.len();
    for layout in Layout::ALL {
        let graph = graphs().get(layout);
        let mut i = 0;
        while i + 1 < n {
            let mut j = i + 1;
            let mut last_direction = None;
            let mut turns = 0;
            let mut shifted_count = usize::from(layout.is_keyboard() && shifted(password[i]));
            loop {
                let mut found_here = false;
                if j < n {
                    let cur = password[j];
                    for (direction, adj) in graph.neighbours(password[j - 1]).iter().enumerate() {
                        let Some(key) = adj else { continue };
                        let Some(at) = key.iter().position(|k| *k == cur) else {
                            continue;
                        };
                        found_here = true;
                        if at == 1 && key[0] != key[1] {
                            shifted_count += 1;
                        }
                        if last_direction != Some(direction) {
                            turns += 1;
                            last_direction = Some(direction);
                        }
                        break;
                    }
                }
                if found_here {
                    j += 1;
                } else {
                    if j - i > 2 {
                        found.push(Match {
                            i,
                            j: j - 1,
                            pattern: Pattern::Spatial {
                                layout,
                                turns,
                                shifted: shifted_count,
                            },
                        });
                    }
                    i = j;
                    break;
                }
            }
        }
    }
    found.sort_by_key(|m| (m.i, m.j));
    out.extend(found);
}

/// JS's `.`: anything but a line terminator.
fn dot(c: char) -> bool {
    !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// How many more copies of `s[at..at + len]` follow it back to back.
fn copies_after(s: &[char], at: usize, len: usize) -> usize {
    let base = &s[at..at + len];
    let mut k = 0;
    while at + (k + 2) * len <= s.len() && &s[at + (k + 1) * len..at + (k + 2) * len] == base {
        k += 1;
    }
    k
}

/// The base that `(.+)\1+` (greedy) or `(.+?)\1+` (lazy) captures at `at`,
/// with its number of copies; `None` if no repeat starts there.
fn repeat_at(s: &[char], at: usize, greedy: bool) -> Option<(usize, usize)> {
    let max_base = s[at..]
        .iter()
        .take_while(|c| dot(**c))
        .count()
        .min((s.len() - at) / 2);
    let mut lens: Box<dyn Iterator<Item = usize>> = if greedy {
        Box::new((1..=max_base).rev())
    } else {
        Box::new(1..=max_base)
    };
    lens.find_map(|len| match copies_after(s, at, len) {
        0 => None,
        k => Some((len, k + 1)),
    })
}

fn repeat_match(password: &[char], cx: &Context<'_>, out: &mut Vec<Match>) {
    let n = password.len();
    let mut from = 0;
    while from < n {
        // Both regexes match first at the same leftmost start.
        let Some((at, (glen, gcount))) =
            (from..n).find_map(|at| repeat_at(password, at, true).map(|g| (at, g)))
        else {
            break;
        };
        let (llen, lcount) = repeat_at(password, at, false).unwrap_or((glen, gcount));
        let (span, base_chars) = if glen * gcount > llen * lcount {
            // Greedy's base may itself repeat (aabaab in aabaabaabaab): the
            // shortest period of its span, as `^(.+?)\1+$` finds it.
            let span = glen * gcount;
            let whole = &password[at..at + span];
            let period = (1..=span / 2)
                .find(|p| span % p == 0 && (*p..span).all(|k| whole[k] == whole[k - p]))
                .unwrap_or(glen);
            (span, period)
        } else {
            (llen * lcount, llen)
        };
        let base = &password[at..at + base_chars];
        let base_guesses =
            scoring::most_guessable(base, &omnimatch(base, cx), cx.reference_year).guesses;
        out.push(Match {
            i: at,
            j: at + span - 1,
            pattern: Pattern::Repeat {
                base_chars,
                base_guesses,
                count: span / base_chars,
            },
        });
        from = at + span;
    }
}

const MAX_DELTA: i64 = 5;

fn sequence_match(password: &[char], out: &mut Vec<Match>) {
    let n = password.len();
    if n < 2 {
        return;
    }
    let mut push = |i: usize, j: usize, delta: i64| {
        if (j - i > 1 || delta.abs() == 1) && (1..=MAX_DELTA).contains(&delta.abs()) {
            let first = password[i];
            let mut base = if "aAzZ019".contains(first) {
                4.0
            } else if first.is_ascii_digit() {
                10.0
            } else {
                26.0
            };
            if delta < 0 {
                base *= 2.0;
            }
            out.push(Match {
                i,
                j,
                pattern: Pattern::Sequence { base },
            });
        }
    };
    let code = |k: usize| i64::from(u32::from(password[k]));
    let mut i = 0;
    let mut last_delta = None;
    for k in 1..n {
        let delta = code(k) - code(k - 1);
        let last = *last_delta.get_or_insert(delta);
        if delta == last {
            continue;
        }
        push(i, k - 1, last);
        i = k - 1;
        last_delta = Some(delta);
    }
    push(i, n - 1, last_delta.unwrap_or(0));
}

fn digits(s: &[char]) -> Option<i32> {
    s.iter().try_fold(0i32, |v, c| {
        Some(v * 10 + c.to_digit(10).filter(|_| c.is_ascii_digit())? as i32)
    })
}

/// `19\d\d|20\d\d`, leftmost and non-overlapping.
fn recent_year_match(password: &[char], out: &mut Vec<Match>) {
    let mut at = 0;
    while at + 4 <= password.len() {
        let w = &password[at..at + 4];
        if let Some(year) = digits(w).filter(|_| matches!(w[..2], ['1', '9'] | ['2', '0'])) {
            out.push(Match {
                i: at,
                j: at + 3,
                pattern: Pattern::RecentYear { year },
            });
            at += 4;
        } else {
            at += 1;
        }
    }
}

const DATE_MIN_YEAR: i32 = 1000;
const DATE_MAX_YEAR: i32 = 2050;

/// Where a separator-less date of 4 to 8 digits may split into three.
fn date_splits(len: usize) -> &'static [(usize, usize)] {
    match len {
        4 => &[(1, 2), (2, 3)],
        5 => &[(1, 3), (2, 3)],
        6 => &[(1, 2), (2, 4), (4, 5)],
        7 => &[(1, 3), (2, 3), (4, 5), (4, 6)],
        8 => &[(2, 4), (4, 6)],
        _ => &[],
    }
}

fn day_month(a: i32, b: i32) -> Option<()> {
    ((1..=31).contains(&a) && (1..=12).contains(&b)
        || (1..=31).contains(&b) && (1..=12).contains(&a))
    .then_some(())
}

/// zxcvbn's `map_ints_to_dmy`, returning the year.
fn dmy_year(ints: [i32; 3]) -> Option<i32> {
    if ints[1] > 31 || ints[1] <= 0 {
        return None;
    }
    let (mut over_12, mut over_31, mut under_1) = (0, 0, 0);
    for int in ints {
        if (100..DATE_MIN_YEAR).contains(&int) || int > DATE_MAX_YEAR {
            return None;
        }
        over_31 += i32::from(int > 31);
        over_12 += i32::from(int > 12);
        under_1 += i32::from(int <= 0);
    }
    if over_31 >= 2 || over_12 == 3 || under_1 >= 2 {
        return None;
    }
    let splits = [(ints[2], ints[0], ints[1]), (ints[0], ints[1], ints[2])];
    for (y, a, b) in splits {
        if (DATE_MIN_YEAR..=DATE_MAX_YEAR).contains(&y) {
            // A four-digit year with no day and month beside it: not a date.
            return day_month(a, b).map(|_| y);
        }
    }
    for (y, a, b) in splits {
        if day_month(a, b).is_some() {
            return Some(match y {
                y if y > 99 => y,
                y if y > 50 => y + 1900,
                y => y + 2000,
            });
        }
    }
    None
}

/// `^(\d{1,4})([\s/\\_.-])(\d{1,2})\2(\d{1,4})$`.
fn separated_date(token: &[char]) -> Option<i32> {
    let run = |from: usize| {
        token[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let a = run(0);
    let sep = *token.get(a)?;
    let b = run(a + 1);
    let c_at = a + 1 + b + 1;
    let c = token.get(c_at..).map_or(0, |_| run(c_at));
    let separator = sep.is_whitespace() || "/\\_.-".contains(sep);
    if !(1..=4).contains(&a)
        || !separator
        || !(1..=2).contains(&b)
        || token.get(a + 1 + b) != Some(&sep)
    {
        return None;
    }
    if !(1..=4).contains(&c) || c_at + c != token.len() {
        return None;
    }
    dmy_year([
        digits(&token[..a])?,
        digits(&token[a + 1..a + 1 + b])?,
        digits(&token[c_at..])?,
    ])
}

fn date_match(password: &[char], cx: &Context<'_>, out: &mut Vec<Match>) {
    let n = password.len();
    let mut found = Vec::new();
    for i in 0..n.saturating_sub(3) {
        for j in i + 3..(i + 8).min(n) {
            let token = &password[i..=j];
            if !token.iter().all(char::is_ascii_digit) {
                continue;
            }
            // Of the readings, the year nearest the reference year.
            let best = date_splits(token.len())
                .iter()
                .filter_map(|&(k, l)| {
                    dmy_year([
                        digits(&token[..k])?,
                        digits(&token[k..l])?,
                        digits(&token[l..])?,
                    ])
                })
                .reduce(|best, y| {
                    if (y - cx.reference_year).abs() < (best - cx.reference_year).abs() {
                        y
                    } else {
                        best
                    }
                });
            if let Some(year) = best {
                found.push(Match {
                    i,
                    j,
                    pattern: Pattern::Date {
                        year,
                        separator: false,
                    },
                });
            }
        }
    }
    for i in 0..n.saturating_sub(5) {
        for j in i + 5..(i + 10).min(n) {
            if let Some(year) = separated_date(&password[i..=j]) {
                found.push(Match {
                    i,
                    j,
                    pattern: Pattern::Date {
                        year,
                        separator: true,
                    },
                });
            }
        }
    }
    // Drop dates inside other dates ('2015_06_04' also holds 15_06_04 …).
    let kept: Vec<Match> = found
        .iter()
        .enumerate()
        .filter(|(a, m)| {
            !found
                .iter()
                .enumerate()
                .any(|(b, o)| *a != b && o.i <= m.i && o.j >= m.j)
        })
        .map(|(_, m)| *m)
        .collect();
    let mut kept = kept;
    kept.sort_by_key(|m| (m.i, m.j));
    out.extend(kept);
}
