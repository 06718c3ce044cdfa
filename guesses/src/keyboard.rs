//! Keyboard adjacency graphs, built from the layouts at first use (as
//! zxcvbn's data script builds them), so no table ships in the binary.

use std::collections::HashMap;

/// The layouts, one row per line, keys as unshifted+shifted pairs (or one
/// character on keypads), each row of a staggered keyboard indented one
/// more space than the row above.
const QWERTY: &str = r#"
`~ 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) -_ =+
    qQ wW eE rR tT yY uU iI oO pP [{ ]} \|
     aA sS dD fF gG hH jJ kK lL ;: '"
      zZ xX cC vV bB nN mM ,< .> /?
"#;
const DVORAK: &str = r#"
`~ 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) [{ ]}
    '" ,< .> pP yY fF gG cC rR lL /? =+ \|
     aA oO eE uU iI dD hH tT nN sS -_
      ;: qQ jJ kK xX bB mM wW vV zZ
"#;
const KEYPAD: &str = "
  / * -
7 8 9 +
4 5 6
1 2 3
  0 .
";
const MAC_KEYPAD: &str = "
  = / *
7 8 9 -
4 5 6 +
1 2 3
  0 .
";

/// Which keyboard a spatial pattern was typed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Qwerty,
    Dvorak,
    Keypad,
    MacKeypad,
}

impl Layout {
    pub const ALL: [Layout; 4] = [
        Layout::Qwerty,
        Layout::Dvorak,
        Layout::Keypad,
        Layout::MacKeypad,
    ];

    pub fn is_keyboard(self) -> bool {
        matches!(self, Layout::Qwerty | Layout::Dvorak)
    }
}

/// One key: its unshifted and (on keyboards) shifted character.
pub type Key = [char; 2];

/// Per character, its neighbours in a fixed direction order (left, up, …),
/// `None` past the edge.
#[derive(Debug)]
pub struct Graph {
    neighbours: HashMap<char, Vec<Option<Key>>>,
}

impl Graph {
    fn build(layout: &str, staggered: bool) -> Graph {
        let mut positions: HashMap<(i32, i32), Key> = HashMap::new();
        for (y, line) in layout.split('\n').enumerate() {
            let y = y as i32;
            let slant = if staggered { y - 1 } else { 0 };
            let mut col = 0;
            for token in line.split(' ') {
                if !token.is_empty() {
                    let mut chars = token.chars();
                    let first = chars.next().unwrap_or(' ');
                    let key = [first, chars.next().unwrap_or(first)];
                    // Keys are tokens plus one space wide.
                    let width = token.chars().count() as i32 + 1;
                    positions.insert(((col - slant) / width, y), key);
                }
                col += token.chars().count() as i32 + 1;
            }
        }
        let around: &[(i32, i32)] = if staggered {
            &[(-1, 0), (0, -1), (1, -1), (1, 0), (0, 1), (-1, 1)]
        } else {
            &[
                (-1, 0),
                (-1, -1),
                (0, -1),
                (1, -1),
                (1, 0),
                (1, 1),
                (0, 1),
                (-1, 1),
            ]
        };
        let mut neighbours = HashMap::new();
        for (&(x, y), key) in &positions {
            let adj: Vec<Option<Key>> = around
                .iter()
                .map(|(dx, dy)| positions.get(&(x + dx, y + dy)).copied())
                .collect();
            for c in key {
                neighbours.insert(*c, adj.clone());
            }
        }
        Graph { neighbours }
    }

    pub fn neighbours(&self, c: char) -> &[Option<Key>] {
        self.neighbours.get(&c).map_or(&[], Vec::as_slice)
    }

    /// How many characters the graph knows: zxcvbn's starting positions.
    pub fn keys(&self) -> usize {
        self.neighbours.len()
    }

    /// The mean number of neighbours per character.
    pub fn average_degree(&self) -> f64 {
        let edges: usize = self
            .neighbours
            .values()
            .map(|n| n.iter().flatten().count())
            .sum();
        edges as f64 / self.keys() as f64
    }
}

/// The four graphs, in zxcvbn's order, with the figures its spatial
/// estimate uses: starting positions and average degree of qwerty (for both
/// keyboards) and of the keypad (for both keypads).
#[derive(Debug)]
pub struct Graphs {
    graphs: [Graph; 4],
    pub keyboard_stats: (f64, f64),
    pub keypad_stats: (f64, f64),
}

/// The graphs, built on first use.
pub fn graphs() -> &'static Graphs {
    static GRAPHS: std::sync::OnceLock<Graphs> = std::sync::OnceLock::new();
    GRAPHS.get_or_init(Graphs::build)
}

impl Graphs {
    pub fn build() -> Graphs {
        let graphs = [
            Graph::build(QWERTY, true),
            Graph::build(DVORAK, true),
            Graph::build(KEYPAD, false),
            Graph::build(MAC_KEYPAD, false),
        ];
        let stats = |g: &Graph| (g.keys() as f64, g.average_degree());
        Graphs {
            keyboard_stats: stats(&graphs[0]),
            keypad_stats: stats(&graphs[2]),
            graphs,
        }
    }

    pub fn get(&self, layout: Layout) -> &Graph {
        &self.graphs[layout as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphs_match_zxcvbns_published_adjacency() {
        let g = Graphs::build();
        let q = g.get(Layout::Qwerty);
        // zxcvbn 4.4.2 adjacency_graphs.js: "!": ["`~", null, null, "2@", "qQ", null]
        assert_eq!(
            q.neighbours('!'),
            &[
                Some(['`', '~']),
                None,
                None,
                Some(['2', '@']),
                Some(['q', 'Q']),
                None
            ]
        );
        // "g": ["fF", "tT", "yY", "hH", "bB", "vV"]
        assert_eq!(
            q.neighbours('g'),
            &[
                Some(['f', 'F']),
                Some(['t', 'T']),
                Some(['y', 'Y']),
                Some(['h', 'H']),
                Some(['b', 'B']),
                Some(['v', 'V'])
            ]
        );
        // "5": ["4", "7", "8", "9", "6", "3", "2", "1"] on the keypad.
        let k = g.get(Layout::Keypad);
        let five: Vec<char> = k.neighbours('5').iter().flatten().map(|k| k[0]).collect();
        assert_eq!(five, ['4', '7', '8', '9', '6', '3', '2', '1']);
        // zxcvbn's constants: 94 keys of average degree 4.5957 on qwerty,
        // 15 keys of average degree 5.0667 on the keypad.
        assert_eq!(q.keys(), 94);
        assert!((q.average_degree() - 4.595744680851064).abs() < 1e-12);
        assert_eq!(k.keys(), 15);
        assert!((k.average_degree() - 5.066666666666666).abs() < 1e-12);
        assert!(g.get(Layout::Dvorak).neighbours('a').len() == 6);
        assert!(g.get(Layout::MacKeypad).neighbours('=').len() == 8);
    }
}
