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

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;

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
/// searches together. A realistic 10 KB policy of 50 statements visits about
/// 400; exhausting this takes under 0.1 s in a release build. Each state
/// costs about 100 bytes plus its positions, so this also bounds memory.
pub const MAX_STATES: usize = 50_000;

/// The most elementary steps (a pattern position stepped, stored or hashed,
/// a character class considered) one analysis may take; shared like
/// [`MAX_STATES`]. This bounds the time when few states are each expensive,
/// e.g. a long `NotAction` list over many distinct characters, and the
/// memory held by the states' positions. A realistic 10 KB policy takes
/// about 15 000; exhausting this takes well under 0.1 s in a release build.
pub const MAX_STEPS: u64 = 5_000_000;

/// The work one analysis has done so far, against [`MAX_STATES`] and
/// [`MAX_STEPS`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Budget {
    states: usize,
    steps: u64,
}

impl Budget {
    /// A fresh budget: nothing spent yet.
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
        if self.steps > MAX_STEPS {
            Err(TooComplex)
        } else {
            Ok(())
        }
    }

    fn visit(&mut self) -> Result<(), TooComplex> {
        self.states += 1;
        if self.states > MAX_STATES {
            Err(TooComplex)
        } else {
            Ok(())
        }
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
    Search::new(all, none)?.run(budget)
}

/// A node of the product automaton.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    /// One NFA position per pattern in `all`.
    must: Vec<usize>,
    /// The subset-constructed state of all `none` patterns together: the
    /// sorted positions in [`Search::none`] that some pattern can be at.
    /// Sets are kept epsilon-closed so that equal sets compare equal.
    avoid: Vec<u32>,
}

impl State {
    fn size(&self) -> usize {
        self.must.len() + self.avoid.len()
    }
}

/// A state found by the search, and how: from which earlier one (by index in
/// discovery order) on which character; `None` for the start.
struct Discovered {
    state: Rc<State>,
    from: Option<(usize, char)>,
}

/// A position of the `none` patterns laid end to end, with literals given by
/// their index in [`Search::alphabet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Lit(usize),
    One,
    Star,
    /// The final position of a pattern.
    End,
}

struct Search<'a> {
    all: &'a [&'a ActionPattern],
    /// For each pattern in `all` and each of its positions, the index in
    /// [`Search::alphabet`] of the literal there, if any.
    all_literals: Vec<Vec<Option<usize>>>,
    /// The `none` patterns laid end to end as one NFA, each followed by
    /// [`Node::End`], so that positions of different patterns never mix.
    none: Vec<Node>,
    /// Where each `none` pattern starts in [`Search::none`].
    starts: Vec<u32>,
    /// One representative per class of characters that all patterns treat
    /// alike: each literal, then one character that is no literal. The
    /// search tries them in this order.
    alphabet: Vec<char>,
}

impl<'a> Search<'a> {
    fn new(all: &'a [&'a ActionPattern], none: &[&ActionPattern]) -> Result<Self, TooComplex> {
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
        let rank: HashMap<char, usize> = alphabet.iter().enumerate().map(|(i, &c)| (c, i)).collect();

        // Every literal is in the alphabet; never guess if one were not.
        let rank_of = |c: &char| rank.get(c).copied().ok_or(TooComplex);
        let all_literals = all
            .iter()
            .map(|p| {
                p.tokens
                    .iter()
                    .map(|token| match token {
                        Token::Lit(c) => rank_of(c).map(Some),
                        Token::One | Token::Star => Ok(None),
                    })
                    .collect()
            })
            .collect::<Result<_, _>>()?;
        let mut flat = Vec::new();
        let mut starts = Vec::with_capacity(none.len());
        for pattern in none {
            starts.push(u32::try_from(flat.len()).map_err(|_| TooComplex)?);
            for token in &pattern.tokens {
                flat.push(match token {
                    Token::Lit(c) => Node::Lit(rank_of(c)?),
                    Token::One => Node::One,
                    Token::Star => Node::Star,
                });
            }
            flat.push(Node::End);
        }
        u32::try_from(flat.len()).map_err(|_| TooComplex)?;
        Ok(Search {
            all,
            all_literals,
            none: flat,
            starts,
            alphabet,
        })
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
        let mut nodes: Vec<Discovered> = vec![Discovered {
            state: Rc::clone(&start),
            from: None,
        }];
        let mut seen: HashMap<Rc<State>, ()> = HashMap::from([(start, ())]);
        let mut id = 0;
        while let Some(Discovered { state, .. }) = nodes.get(id) {
            let state = Rc::clone(state);
            if self.accepting(&state) {
                return Ok(Some(spell(&nodes, id)));
            }
            for class in self.classes(&state, budget)? {
                let Some(&c) = self.alphabet.get(class) else {
                    continue;
                };
                budget.spend(1 + state.must.len())?;
                let musts = self.step_must(&state.must, c, budget)?;
                if musts.is_empty() {
                    continue;
                }
                budget.spend(state.avoid.len())?;
                let avoid = self.step_avoid(&state.avoid, class);
                for must in musts {
                    let next = State {
                        must,
                        avoid: avoid.clone(),
                    };
                    // Building, hashing and comparing (or storing) `next`.
                    budget.spend(1 + next.size())?;
                    if self.doomed(&next) {
                        continue;
                    }
                    // One lookup, whether the state is new or not.
                    if let Entry::Vacant(vacant) = seen.entry(Rc::new(next)) {
                        budget.visit()?;
                        nodes.push(Discovered {
                            state: Rc::clone(vacant.key()),
                            from: Some((id, c)),
                        });
                        vacant.insert(());
                    }
                }
            }
            id += 1;
        }
        Ok(None)
    }

    /// The characters worth trying from `state`, as indices into
    /// [`Search::alphabet`] in increasing order: each literal at an active
    /// position, plus the first character of the alphabet that is none of
    /// those, standing for all the others (which every active position
    /// treats alike, so they lead to the same state).
    fn classes(&self, state: &State, budget: &mut Budget) -> Result<Vec<usize>, TooComplex> {
        budget.spend(1 + 2 * state.size())?;
        let mut ranks = Vec::new();
        for ((pattern, literals), &pos) in self.all.iter().zip(&self.all_literals).zip(&state.must) {
            pattern.closure(pos, |p| ranks.extend(literals.get(p).copied().flatten()));
        }
        for &g in &state.avoid {
            if let Some(&Node::Lit(rank)) = self.node(g) {
                ranks.push(rank);
            }
        }
        ranks.sort_unstable();
        ranks.dedup();
        // The smallest index not in `ranks`; it names a character because
        // the last one of the alphabet is no literal at all.
        let other = ranks
            .iter()
            .enumerate()
            .find(|&(i, &r)| i != r)
            .map_or(ranks.len(), |(i, _)| i);
        ranks.insert(other, other);
        Ok(ranks)
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

    /// The epsilon-closed set reached from `avoid` by consuming the
    /// character of index `class` in [`Search::alphabet`].
    fn step_avoid(&self, avoid: &[u32], class: usize) -> Vec<u32> {
        let mut next = Vec::with_capacity(avoid.len() + 1);
        for &g in avoid {
            match self.node(g) {
                // A star loops, and consumes anything.
                Some(Node::Star) => self.close(g, &mut next),
                Some(Node::One) => self.close(g + 1, &mut next),
                Some(&Node::Lit(rank)) if rank == class => self.close(g + 1, &mut next),
                _ => {}
            }
        }
        next.sort_unstable();
        next.dedup();
        next
    }

    fn node(&self, g: u32) -> Option<&Node> {
        usize::try_from(g).ok().and_then(|g| self.none.get(g))
    }

    /// Adds `g` and every position of [`Search::none`] reachable from it
    /// without consuming input. Positions stay below `none.len()`, which
    /// fits in `u32`, because every pattern ends in [`Node::End`].
    fn close(&self, mut g: u32, set: &mut Vec<u32>) {
        set.push(g);
        while self.node(g) == Some(&Node::Star) {
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
            .any(|&g| self.node(g) == Some(&Node::Star) && self.node(g + 1) == Some(&Node::End))
    }

    fn accepting(&self, state: &State) -> bool {
        self.all
            .iter()
            .zip(&state.must)
            .all(|(pattern, &pos)| pattern.accepts_at(pos))
            && state.avoid.iter().all(|&g| self.node(g) != Some(&Node::End))
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

fn spell(nodes: &[Discovered], mut id: usize) -> String {
    let mut chars = Vec::new();
    while let Some(Discovered {
        from: Some((parent, c)),
        ..
    }) = nodes.get(id)
    {
        chars.push(*c);
        id = *parent;
    }
    chars.iter().rev().collect()
}
