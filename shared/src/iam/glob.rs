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
//!
//! The subset construction can blow up exponentially, and the patterns come
//! from the people the guardrail polices, so every search runs on a fixed
//! budget and answers [`TooComplex`] rather than run long.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;
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
}

impl fmt::Display for ActionPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The analysis gave up before reaching an exact answer, because the
/// patterns need more work than the fixed budget allows.
///
/// Deciding whether glob patterns overlap is hard in general: a `NotAction`
/// pattern such as `*a??????????????` makes the exact search grow
/// exponentially. Policy authors control those patterns, so rather than let
/// them stall the analysis, the search stops after [`MAX_STATES`] product
/// states or [`MAX_STEPS`] elementary steps and reports this error; callers
/// must treat it as "may grant anything" (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the policy's wildcard patterns are too complex to analyse exactly")]
pub struct TooComplex;

/// The most product states one analysis may visit: one [`witness`] call, or
/// one [`forbidden_grants`](super::forbidden_grants) call for all of its
/// searches together. Each state costs about 100 bytes plus its positions,
/// so this also bounds memory. Realistic documents visit a few hundred.
pub const MAX_STATES: usize = 200_000;

/// The most elementary steps (a pattern position stepped, stored or hashed,
/// a character class considered) one analysis may take; shared like
/// [`MAX_STATES`]. This bounds the time when few states are each expensive,
/// e.g. a long `NotAction` list over many distinct characters, and bounds
/// the memory held by the states' positions. Realistic documents take a few
/// tens of thousands.
pub const MAX_STEPS: u64 = 20_000_000;

/// What is left of the work allowance of one analysis.
#[derive(Debug, Clone, Default)]
pub(crate) struct Budget {
    states: usize,
    steps: u64,
}

impl Budget {
    /// A fresh allowance of [`MAX_STATES`] and [`MAX_STEPS`].
    pub(crate) fn new() -> Budget {
        Budget::default()
    }

    /// Product states visited so far.
    #[cfg(test)]
    pub(crate) fn states(&self) -> usize {
        self.states
    }

    /// Elementary steps taken so far.
    #[cfg(test)]
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    fn spend(&mut self, steps: usize) -> Result<(), TooComplex> {
        self.steps = self.steps.saturating_add(u64::try_from(steps).unwrap_or(u64::MAX));
        if self.steps > MAX_STEPS { eprintln!("TMPDEBUG steps at {} states", self.states); Err(TooComplex) } else { Ok(()) }
    }

    fn visit(&mut self) -> Result<(), TooComplex> {
        self.states += 1;
        if self.states > MAX_STATES { eprintln!("TMPDEBUG states at {} steps", self.steps); Err(TooComplex) } else { Ok(()) }
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
/// The answer is exact or [`TooComplex`], never a guess. The cost is
/// polynomial in the patterns of `all` but can grow exponentially with the
/// number of `?` after a `*` in the patterns of `none`, so the search has a
/// fixed budget ([`MAX_STATES`], [`MAX_STEPS`]); realistic IAM patterns use
/// a tiny fraction of it.
pub fn witness(all: &[&ActionPattern], none: &[&ActionPattern]) -> Result<Option<String>, TooComplex> {
    witness_within(all, none, &mut Budget::new())
}

/// [`witness`], drawing on a budget shared with other searches.
pub(crate) fn witness_within(
    all: &[&ActionPattern],
    none: &[&ActionPattern],
    budget: &mut Budget,
) -> Result<Option<String>, TooComplex> {
    let setup: usize = all.iter().chain(none).map(|p| p.len() + 1).sum();
    budget.spend(setup)?;
    Search::new(all, none).run(budget)
}

/// A node of the product automaton.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    /// One NFA position per pattern in `all`.
    must: Vec<usize>,
    /// The subset-constructed state of all `none` patterns together: the
    /// sorted positions in [`Search::none`] that some pattern can be at.
    /// Sets are kept epsilon-closed so that equal sets compare equal.
    avoid: Vec<usize>,
}

impl State {
    fn size(&self) -> usize {
        self.must.len() + self.avoid.len()
    }
}

struct Search<'a> {
    all: &'a [&'a ActionPattern],
    /// The `none` patterns laid end to end as one NFA, each followed by
    /// `None` for its final position, so that a position names its pattern.
    none: Vec<Option<Token>>,
    /// Where each `none` pattern starts in [`Search::none`].
    starts: Vec<usize>,
    /// One representative per class of characters that all patterns treat
    /// alike: each literal, then one character that is no literal. The
    /// search tries them in this order.
    alphabet: Vec<char>,
    /// Index of each literal in [`Search::alphabet`].
    rank: HashMap<char, usize>,
}

impl<'a> Search<'a> {
    fn new(all: &'a [&'a ActionPattern], none: &[&ActionPattern]) -> Self {
        let mut flat = Vec::new();
        let mut starts = Vec::with_capacity(none.len());
        for pattern in none {
            starts.push(flat.len());
            flat.extend(pattern.tokens.iter().copied().map(Some));
            flat.push(None);
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
        let rank = alphabet.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        Search {
            all,
            none: flat,
            starts,
            alphabet,
            rank,
        }
    }

    fn run(&self, budget: &mut Budget) -> Result<Option<String>, TooComplex> {
        let mut start_avoid = Vec::with_capacity(self.starts.len() * 2);
        for &start in &self.starts {
            self.close(start, &mut start_avoid);
        }
        start_avoid.sort_unstable();
        start_avoid.dedup();
        let start = State {
            must: vec![0; self.all.len()],
            avoid: start_avoid,
        };
        budget.visit()?;
        budget.spend(start.size() + 1)?;
        if self.doomed(&start) {
            return Ok(None);
        }

        // Nodes in discovery order, each with how it was first reached. BFS
        // discovers every node along a shortest path, so following parents
        // spells a shortest witness; and the queue is simply the nodes not
        // yet expanded, so each state is stored once, shared with `seen`.
        let start = Rc::new(start);
        let mut nodes: Vec<(Rc<State>, Option<(usize, char)>)> = vec![(Rc::clone(&start), None)];
        let mut seen: HashSet<Rc<State>> = HashSet::from([start]);
        let mut id = 0;
        while let Some((state, _)) = nodes.get(id) {
            let state = Rc::clone(state);
            if self.accepting(&state) {
                return Ok(Some(spell(&nodes, id)));
            }
            for c in self.classes(&state, budget)? {
                budget.spend(1 + state.must.len())?;
                let musts = self.step_must(&state.must, c, budget)?;
                if musts.is_empty() {
                    continue;
                }
                budget.spend(state.avoid.len())?;
                let avoid = self.step_avoid(&state.avoid, c);
                for must in musts {
                    let next = State {
                        must,
                        avoid: avoid.clone(),
                    };
                    // Building, hashing and comparing (or storing) `next`.
                    budget.spend(1 + next.size())?;
                    if self.doomed(&next) || seen.contains(&next) {
                        continue;
                    }
                    budget.visit()?;
                    let next = Rc::new(next);
                    seen.insert(Rc::clone(&next));
                    nodes.push((next, Some((id, c))));
                }
            }
            id += 1;
        }
        Ok(None)
    }

    /// The characters worth trying from `state`, in alphabet order: each
    /// literal at an active position, plus the first character of the
    /// alphabet that is none of those, standing for all the others (which
    /// every active position treats alike, so they lead to the same state).
    fn classes(&self, state: &State, budget: &mut Budget) -> Result<Vec<char>, TooComplex> {
        budget.spend(1 + 2 * state.size())?;
        let mut ranks = Vec::new();
        let mut note = |token: Option<&Token>| {
            if let Some(Token::Lit(c)) = token {
                ranks.extend(self.rank.get(c));
            }
        };
        for (pattern, &pos) in self.all.iter().zip(&state.must) {
            pattern.closure(pos, |p| note(pattern.tokens.get(p)));
        }
        for &g in &state.avoid {
            note(self.none[g].as_ref());
        }
        ranks.sort_unstable();
        ranks.dedup();
        // The smallest rank not in `ranks`; it exists because the last
        // character of the alphabet is no literal at all.
        let other = ranks.iter().enumerate().find(|&(i, &r)| i != r).map_or(ranks.len(), |(i, _)| i);
        ranks.insert(other, other);
        Ok(ranks.into_iter().filter_map(|r| self.alphabet.get(r).copied()).collect())
    }

    /// Every combination of successor positions of the `all` patterns; empty
    /// when one of them cannot consume `c`.
    fn step_must(&self, must: &[usize], c: char, budget: &mut Budget) -> Result<Vec<Vec<usize>>, TooComplex> {
        let mut combos: Vec<Vec<usize>> = vec![Vec::with_capacity(must.len())];
        for (pattern, &pos) in self.all.iter().zip(must) {
            let mut targets = Vec::with_capacity(2);
            pattern.step(pos, c, |p| {
                if !targets.contains(&p) {
                    targets.push(p);
                }
            });
            if targets.is_empty() {
                return Ok(Vec::new());
            }
            if targets.len() > 1 {
                // Each further pattern may double the combinations.
                budget.spend(combos.len() * must.len())?;
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
        Ok(combos)
    }

    /// The epsilon-closed set reached from `avoid` by consuming `c`.
    fn step_avoid(&self, avoid: &[usize], c: char) -> Vec<usize> {
        let mut next = Vec::with_capacity(avoid.len() + 1);
        for &g in avoid {
            match self.none[g] {
                // A star loops, and consumes anything.
                Some(Token::Star) => self.close(g, &mut next),
                Some(token) if token.advances_on(c) => self.close(g + 1, &mut next),
                _ => {}
            }
        }
        next.sort_unstable();
        next.dedup();
        next
    }

    /// Adds `g` and every position of [`Search::none`] reachable from it
    /// without consuming input.
    fn close(&self, mut g: usize, set: &mut Vec<usize>) {
        set.push(g);
        while self.none[g] == Some(Token::Star) {
            g += 1;
            set.push(g);
        }
    }

    /// Whether no extension of the strings reaching `state` can be a
    /// witness, because some `none` pattern already matches all of them: it
    /// is at a star that ends it (runs of stars are collapsed).
    fn doomed(&self, state: &State) -> bool {
        state
            .avoid
            .iter()
            .any(|&g| self.none[g] == Some(Token::Star) && self.none.get(g + 1) == Some(&None))
    }

    fn accepting(&self, state: &State) -> bool {
        self.all
            .iter()
            .zip(&state.must)
            .all(|(pattern, &pos)| pattern.accepts_at(pos))
            && state.avoid.iter().all(|&g| self.none[g].is_some())
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

fn spell(nodes: &[(Rc<State>, Option<(usize, char)>)], mut id: usize) -> String {
    let mut chars = Vec::new();
    while let Some((_, Some((parent, c)))) = nodes.get(id) {
        chars.push(*c);
        id = *parent;
    }
    chars.iter().rev().collect()
}
