//! zxcvbn's ranked word lists, decoded once from `data/` (see
//! `data/build.mjs` for the format and why ranks are bucketed), and looked up
//! in an open-addressing table over one string arena: one allocation for
//! 94k words instead of one each.

/// Which list a word came from; zxcvbn's feedback depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dictionary {
    Passwords,
    EnglishWikipedia,
    FemaleNames,
    Surnames,
    UsTvAndFilm,
    MaleNames,
    /// The caller's own words (names, the organisation).
    UserInputs,
}

const LISTS: [(&str, Dictionary); 6] = [
    ("passwords", Dictionary::Passwords),
    ("english_wikipedia", Dictionary::EnglishWikipedia),
    ("female_names", Dictionary::FemaleNames),
    ("surnames", Dictionary::Surnames),
    ("us_tv_and_film", Dictionary::UsTvAndFilm),
    ("male_names", Dictionary::MaleNames),
];

const WORDS: &str = include_str!("../data/words.txt");
const RANKS: &[u8] = include_bytes!("../data/ranks.bin");

#[derive(Clone, Copy)]
struct Entry {
    start: u32,
    len: u8,
    dictionary: u8,
    rank: u32,
}

/// Words to (list, rank).
pub struct Ranked {
    arena: String,
    entries: Vec<Entry>,
    /// Indices into `entries` plus one; 0 is empty. A power of two long.
    slots: Vec<u32>,
    /// The longest word, in characters: no longer substring can match.
    pub max_chars: usize,
}

impl std::fmt::Debug for Ranked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranked")
            .field("words", &self.entries.len())
            .finish_non_exhaustive()
    }
}

fn hash(s: &str) -> u64 {
    // FNV-1a: short keys, no dependency, good enough spread for a table
    // kept at most half full.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Ranked {
    fn with_capacity(words: usize, bytes: usize) -> Ranked {
        Ranked {
            arena: String::with_capacity(bytes),
            entries: Vec::with_capacity(words),
            slots: vec![0; (words * 2).next_power_of_two().max(16)],
            max_chars: 0,
        }
    }

    fn word(&self, e: &Entry) -> &str {
        &self.arena[e.start as usize..e.start as usize + usize::from(e.len)]
    }

    /// Adds `word`, or moves it to `rank` if it is already there (a later
    /// duplicate wins, as in zxcvbn's `build_ranked_dict`).
    fn insert(&mut self, word: &str, dictionary: Dictionary, rank: u32) {
        let Ok(len) = u8::try_from(word.len()) else {
            return;
        };
        let mask = self.slots.len() - 1;
        let mut at = hash(word) as usize & mask;
        while self.slots[at] != 0 {
            let i = self.slots[at] as usize - 1;
            if self.word(&self.entries[i]) == word {
                self.entries[i].rank = rank;
                self.entries[i].dictionary = dictionary as u8;
                return;
            }
            at = (at + 1) & mask;
        }
        let start = self.arena.len() as u32;
        self.arena.push_str(word);
        self.entries.push(Entry {
            start,
            len,
            dictionary: dictionary as u8,
            rank,
        });
        self.slots[at] = self.entries.len() as u32;
        self.max_chars = self.max_chars.max(word.chars().count());
    }

    pub fn get(&self, word: &str) -> Option<(Dictionary, u32)> {
        let mask = self.slots.len() - 1;
        let mut at = hash(word) as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let e = &self.entries[slot as usize - 1];
            if self.word(e) == word {
                let d = LISTS
                    .get(usize::from(e.dictionary))
                    .map_or(Dictionary::UserInputs, |l| l.1);
                return Some((d, e.rank));
            }
            at = (at + 1) & mask;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// The caller's words, lowercased, ranked in the order given.
    pub fn user_inputs(inputs: &[&str]) -> Ranked {
        let bytes = inputs.iter().map(|s| s.len()).sum();
        let mut r = Ranked::with_capacity(inputs.len(), bytes);
        for (i, word) in inputs.iter().enumerate() {
            let lower = word.to_lowercase();
            if !lower.is_empty() {
                r.insert(&lower, Dictionary::UserInputs, i as u32 + 1);
            }
        }
        r
    }

    /// The shipped lists. Fails only on corrupt data, which a test rules out.
    pub fn builtin() -> Option<Ranked> {
        let mut r = Ranked::with_capacity(94_000, WORDS.len() / 2);
        let mut ranks = RANKS;
        let take_u16 = |ranks: &mut &[u8]| -> Option<u16> {
            let (v, rest) = ranks.split_first_chunk::<2>()?;
            *ranks = rest;
            Some(u16::from_le_bytes(*v))
        };
        let mut word = String::new();
        let mut lines = WORDS.lines().peekable();
        for (name, dictionary) in LISTS {
            if lines.next()?.strip_prefix('#')? != name {
                return None;
            }
            let buckets = take_u16(&mut ranks)?;
            let starts: Vec<u16> = (0..buckets)
                .map(|_| take_u16(&mut ranks))
                .collect::<Option<_>>()?;
            word.clear();
            while let Some(line) = lines.next_if(|l| !l.starts_with('#')) {
                let shared = line.chars().next()?.to_digit(10)? as usize;
                let cut = word.char_indices().nth(shared).map_or(word.len(), |c| c.0);
                word.truncate(cut);
                word.push_str(&line[1..]);
                let (bucket, rest) = ranks.split_first()?;
                ranks = rest;
                let rank = *starts.get(usize::from(*bucket))?;
                r.insert(&word, dictionary, u32::from(rank));
            }
        }
        (lines.next().is_none() && ranks.is_empty()).then_some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lists_decode_whole() {
        let r = Ranked::builtin().unwrap();
        // 30000 + 30000 + 3712 + 10000 + 19160 + 983: no word is in two lists.
        assert_eq!(r.len(), 93_855);
        // Exact ranks up to 10 and at the top-100 edge; within 10 % (never
        // above) past that.
        assert_eq!(r.get("123456"), Some((Dictionary::Passwords, 1)));
        assert_eq!(r.get("password"), Some((Dictionary::Passwords, 2)));
        assert_eq!(r.get("dragon"), Some((Dictionary::Passwords, 10)));
        let (d, rank) = r.get("the").unwrap();
        assert_eq!((d, rank), (Dictionary::EnglishWikipedia, 1));
        let (d, rank) = r.get("alonso").unwrap();
        assert_eq!(d, Dictionary::MaleNames);
        assert!(rank <= 983 && f64::from(rank) * 1.1 >= 983.0, "{rank}");
        assert_eq!(r.get("zzzzqqqq"), None);
        assert_eq!(r.get(""), None);
    }

    #[test]
    fn later_user_inputs_take_the_later_rank() {
        let r = Ranked::user_inputs(&["Alice", "Northgate", "alice", ""]);
        assert_eq!(r.get("alice"), Some((Dictionary::UserInputs, 3)));
        assert_eq!(r.get("northgate"), Some((Dictionary::UserInputs, 2)));
        assert_eq!(r.len(), 2);
    }
}
