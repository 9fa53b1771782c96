//! IAM action patterns (`*` and `?` wildcards) and an exact decision
//! procedure for "is there an action matching all of these patterns and none
//! of those".
//!
//! The decision procedure treats every pattern as an NFA whose states are
//! positions in the pattern. Patterns that must match are run in lock step as
//! a product of single NFA states, which keeps that part polynomial; patterns
//! that must *not* match are determinised on the fly (subset construction),
//! because complementing an NFA requires a deterministic automaton. A
//! breadth-first search over that product yields the shortest witness, or
//! exhausts the finite state space and proves there is none.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fmt;

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Token {
    /// A literal character, already folded to ASCII lowercase.
    Lit(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, including the empty one and `:`.
    Star,
}

impl Token {
    /// Whether this token consumes `c` when stepping to the next position.
    /// A star loops instead, so it never advances on a character.
    fn advances_on(self, c: char) -> bool {
        match self {
            Token::Lit(l) => l == c,
            Token::One => true,
            Token::Star => false,
        }
    }
}

/// An IAM action pattern such as `iam:*` or `s3:Get?bject`, matched
/// case-insensitively.
///
/// Any string is a valid pattern: `*` matches any run of characters
/// (including the empty run and `:`), `?` matches exactly one character and
/// every other character matches itself, ignoring ASCII case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionPattern {
    text: String,
    /// Lowercased tokens with runs of `*` collapsed into one, which keeps the
    /// epsilon closure of a position to at most two positions.
    tokens: Vec<Token>,
}

impl ActionPattern {
    /// Compiles `text` into a pattern. Infallible: every string is a pattern.
    pub fn new(text: &str) -> ActionPattern {
        let mut tokens = Vec::with_capacity(text.len());
        for c in text.chars() {
            let token = match c {
                '*' => Token::Star,
                '?' => Token::One,
                other => Token::Lit(other.to_ascii_lowercase()),
            };
            if token == Token::Star && tokens.last() == Some(&Token::Star) {
                continue;
            }
            tokens.push(token);
        }
        ActionPattern {
            text: text.to_owned(),
            tokens,
        }
    }

    /// The pattern as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the concrete action name `action` matches this pattern,
    /// ignoring ASCII case.
    ///
    /// Deliberately independent of [`witness`] (a greedy matcher that
    /// backtracks to the last star) so that each can be tested against the
    /// other.
    pub fn matches(&self, action: &str) -> bool {
        let input: Vec<char> = action.chars().map(|c| c.to_ascii_lowercase()).collect();
        let tokens = &self.tokens;
        let (mut t, mut i) = (0, 0);
        // Where to resume after the most recent star: (token after it, input index).
        let mut resume: Option<(usize, usize)> = None;
        while i < input.len() {
            match tokens.get(t) {
                Some(Token::Star) => {
                    resume = Some((t + 1, i));
                    t += 1;
                }
                Some(&token) if token.advances_on(input[i]) => {
                    t += 1;
                    i += 1;
                }
                _ => match resume {
                    // Let the last star swallow one more character and retry.
                    // Earlier stars never need to grow: the last one can
                    // absorb anything they would have.
                    Some((after_star, start)) => {
                        t = after_star;
                        i = start + 1;
                        resume = Some((after_star, start + 1));
                    }
                    None => return false,
                },
            }
        }
        tokens[t.min(tokens.len())..].iter().all(|&token| token == Token::Star)
    }

    /// Number of positions past the last token; position `len()` is final.
    fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Calls `f` with every position reachable from `pos` without consuming
    /// input (a star may match the empty string).
    fn closure(&self, pos: usize, mut f: impl FnMut(usize)) {
        let mut p = pos;
        f(p);
        while self.tokens.get(p) == Some(&Token::Star) {
            p += 1;
            f(p);
        }
    }

    /// Calls `f` with the positions reached from `pos` by consuming `c`
    /// (before the epsilon closure of the targets).
    fn step(&self, pos: usize, c: char, mut f: impl FnMut(usize)) {
        self.closure(pos, |p| match self.tokens.get(p) {
            Some(Token::Star) => f(p),
            Some(token) if token.advances_on(c) => f(p + 1),
            _ => {}
        });
    }

    /// Whether the empty remainder is accepted from `pos`.
    fn accepts_at(&self, pos: usize) -> bool {
        let mut accepted = false;
        self.closure(pos, |p| accepted |= p == self.len());
        accepted
    }

    /// Whether every remainder is accepted from `pos`: the rest of the
    /// pattern is non-empty and consists only of stars.
    fn universal_at(&self, pos: usize) -> bool {
        pos < self.len() && self.tokens[pos..].iter().all(|&t| t == Token::Star)
    }
}

impl fmt::Display for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Shortest string (lowercase) that matches every pattern in `all` and none
/// in `none`, if any exists.
///
/// With `all` empty every string qualifies for that half, so the answer is
/// the shortest string avoiding `none` (often the empty string). Among the
/// shortest witnesses the one found first by the search is returned, which is
/// deterministic for given inputs.
///
/// The search is exact. Its cost is polynomial in the patterns of `all` but
/// can in the worst case grow exponentially with the number of `?` after a
/// `*` in the patterns of `none` (deciding glob inclusion is hard in
/// general); realistic IAM patterns stay tiny.
pub fn witness(all: &[&ActionPattern], none: &[&ActionPattern]) -> Option<String> {
    Search::new(all, none).run()
}

/// A node of the product automaton.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    /// One NFA position per pattern in `all`.
    must: Vec<usize>,
    /// The subset-constructed state of all `none` patterns together: bit
    /// `offset[k] + p` is set when pattern `k` can be at position `p`.
    /// Sets are kept epsilon-closed so that equal sets compare equal.
    avoid: Vec<u64>,
}

struct Search<'a> {
    all: &'a [&'a ActionPattern],
    none: &'a [&'a ActionPattern],
    /// Bit offset of each `none` pattern inside [`State::avoid`].
    offsets: Vec<usize>,
    words: usize,
    /// One representative per class of characters that all patterns treat
    /// alike: each literal, then one character that is no literal.
    alphabet: Vec<char>,
}

impl<'a> Search<'a> {
    fn new(all: &'a [&'a ActionPattern], none: &'a [&'a ActionPattern]) -> Self {
        let mut offsets = Vec::with_capacity(none.len());
        let mut bits = 0;
        for pattern in none {
            offsets.push(bits);
            bits += pattern.len() + 1;
        }
        let literals: BTreeSet<char> = all
            .iter()
            .chain(none)
            .flat_map(|p| p.tokens.iter())
            .filter_map(|&t| match t {
                Token::Lit(c) => Some(c),
                Token::One | Token::Star => None,
            })
            .collect();
        let other = other_char(&literals);
        let mut alphabet: Vec<char> = literals.into_iter().collect();
        // Letters and digits first: among equally short witnesses the search
        // then prefers readable ones such as `iam:a` over `iam::`.
        alphabet.sort_by_key(|c| (!c.is_alphanumeric(), *c));
        alphabet.push(other);
        Search {
            all,
            none,
            offsets,
            words: bits.div_ceil(64),
            alphabet,
        }
    }

    fn run(&self) -> Option<String> {
        let mut start_avoid = vec![0u64; self.words];
        for (k, pattern) in self.none.iter().enumerate() {
            let offset = self.offsets[k];
            pattern.closure(0, |p| set_bit(&mut start_avoid, offset + p));
        }
        let start = State {
            must: vec![0; self.all.len()],
            avoid: start_avoid,
        };
        if self.doomed(&start) {
            return None;
        }

        // `parents[i]` is how node `i` was first reached: BFS discovers every
        // node along a shortest path, so following parents spells a shortest
        // witness.
        let mut parents: Vec<Option<(usize, char)>> = vec![None];
        let mut seen: HashSet<State> = HashSet::from([start.clone()]);
        let mut queue: VecDeque<(usize, State)> = VecDeque::from([(0, start)]);

        while let Some((id, state)) = queue.pop_front() {
            if self.accepting(&state) {
                return Some(spell(&parents, id));
            }
            for &c in &self.alphabet {
                let avoid = self.step_avoid(&state.avoid, c);
                for must in self.step_must(&state.must, c) {
                    let next = State {
                        must,
                        avoid: avoid.clone(),
                    };
                    if self.doomed(&next) || seen.contains(&next) {
                        continue;
                    }
                    seen.insert(next.clone());
                    parents.push(Some((id, c)));
                    queue.push_back((parents.len() - 1, next));
                }
            }
        }
        None
    }

    /// Every combination of successor positions of the `all` patterns; empty
    /// when one of them cannot consume `c`.
    fn step_must(&self, must: &[usize], c: char) -> Vec<Vec<usize>> {
        let mut combos: Vec<Vec<usize>> = vec![Vec::with_capacity(must.len())];
        for (pattern, &pos) in self.all.iter().zip(must) {
            let mut targets = Vec::with_capacity(2);
            pattern.step(pos, c, |p| {
                if !targets.contains(&p) {
                    targets.push(p);
                }
            });
            if targets.is_empty() {
                return Vec::new();
            }
            combos = combos
                .into_iter()
                .flat_map(|prefix| {
                    targets.iter().map(move |&p| {
                        let mut next = prefix.clone();
                        next.push(p);
                        next
                    })
                })
                .collect();
        }
        combos
    }

    fn step_avoid(&self, avoid: &[u64], c: char) -> Vec<u64> {
        let mut next = vec![0u64; self.words];
        for (k, pattern) in self.none.iter().enumerate() {
            let offset = self.offsets[k];
            for pos in 0..=pattern.len() {
                if get_bit(avoid, offset + pos) {
                    pattern.step(pos, c, |target| {
                        pattern.closure(target, |p| set_bit(&mut next, offset + p));
                    });
                }
            }
        }
        next
    }

    /// Whether no extension of the strings reaching `state` can be a
    /// witness, because some `none` pattern already matches all of them.
    fn doomed(&self, state: &State) -> bool {
        self.none.iter().enumerate().any(|(k, pattern)| {
            (0..pattern.len()).any(|pos| get_bit(&state.avoid, self.offsets[k] + pos) && pattern.universal_at(pos))
        })
    }

    fn accepting(&self, state: &State) -> bool {
        self.all
            .iter()
            .zip(&state.must)
            .all(|(pattern, &pos)| pattern.accepts_at(pos))
            && self
                .none
                .iter()
                .enumerate()
                .all(|(k, pattern)| !get_bit(&state.avoid, self.offsets[k] + pattern.len()))
    }
}

/// A character standing for every character that is not a literal of any
/// pattern. It must itself not be a literal, and must not fold onto one
/// (hence no ASCII uppercase), or the class would be misrepresented.
fn other_char(literals: &BTreeSet<char>) -> char {
    const PREFERRED: &str = "xyzqjkwvbcdfghmnplrstuaeio0123456789";
    PREFERRED
        .chars()
        .chain((0x00c0..=0x10_ffff).filter_map(char::from_u32))
        .find(|c| !literals.contains(c))
        // Unreachable in practice: patterns cannot hold every Unicode scalar.
        .unwrap_or('\u{fffd}')
}

fn spell(parents: &[Option<(usize, char)>], mut id: usize) -> String {
    let mut chars = Vec::new();
    while let Some(Some((parent, c))) = parents.get(id) {
        chars.push(*c);
        id = *parent;
    }
    chars.iter().rev().collect()
}

fn get_bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set_bit(bits: &mut [u64], i: usize) {
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}
