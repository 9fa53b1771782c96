//! Similarity and single-linkage clustering of feature sets, without comparing every pair.
//!
//! Sets are sorted vectors of feature ids. Candidate pairs come from an inverted index over each
//! set's *prefix* (AllPairs, Bayardo et al. 2007): features are ordered rarest first, and two sets
//! whose Jaccard similarity is at least `t` share at least `ceil(t·max(|A|,|B|))` features, so
//! their prefixes of length `|A| − ceil(t·|A|) + 1` must share one. The size filter
//! (`t·|A| ≤ |B| ≤ |A|/t`) prunes the rest; every candidate is then verified exactly. Sets with
//! identical content are merged before the join (a family of exact copies costs one probe).
//! [`naive`] compares every pair; the tests hold both to the same clusters.

use std::collections::HashMap;

/// A small tolerance for comparing a ratio of integers with a threshold given as a decimal.
const EPSILON: f64 = 1e-9;

/// Jaccard similarity of two sorted, duplicate-free vectors: |A∩B| / |A∪B| (1.0 for two empty
/// sets: identical content).
pub fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let common = intersection(a, b);
    let union = a.len() + b.len() - common;
    if union == 0 {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let ratio = common as f64 / union as f64;
    ratio
}

fn intersection(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Union-find with path halving and union by size.
#[derive(Debug)]
pub struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    /// The representative of `x`'s group.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the groups of `a` and `b`.
    pub fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }

    /// Every group of two or more, each sorted, ordered by their first member: a partition of
    /// the non-singleton elements.
    pub fn groups(&mut self) -> Vec<Vec<usize>> {
        let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
        for x in 0..self.parent.len() {
            let root = self.find(x);
            by_root.entry(root).or_default().push(x);
        }
        let mut groups: Vec<Vec<usize>> = by_root.into_values().filter(|g| g.len() > 1).collect();
        groups.sort_by_key(|g| g[0]);
        groups
    }
}

/// Whether `common` shared features out of `union` reach the threshold.
fn reaches(common: usize, union: usize, threshold: f64) -> bool {
    #[allow(clippy::cast_precision_loss)]
    let (common, union) = (common as f64, union as f64);
    union == 0.0 || common >= threshold * union - EPSILON
}

/// The clusters (groups of two or more sets linked by similarity ≥ `threshold`, single linkage)
/// of `sets` (sorted, duplicate-free feature ids), by prefix filtering. `threshold` in (0, 1].
pub fn clusters(sets: &[Vec<u32>], threshold: f64) -> Vec<Vec<usize>> {
    let mut uf = UnionFind::new(sets.len());
    // Identical sets first: one representative each joins the similarity search.
    let mut first: HashMap<&[u32], usize> = HashMap::new();
    let mut reps = Vec::new();
    for (i, s) in sets.iter().enumerate() {
        match first.get(s.as_slice()) {
            Some(&j) => uf.union(i, j),
            None => {
                first.insert(s, i);
                reps.push(i);
            }
        }
    }
    // Features ordered rarest first (among representatives), so prefixes are selective.
    let mut frequency: HashMap<u32, u32> = HashMap::new();
    for &r in &reps {
        for f in &sets[r] {
            *frequency.entry(*f).or_default() += 1;
        }
    }
    let mut order: Vec<(u32, u32)> = frequency.iter().map(|(f, n)| (*n, *f)).collect();
    order.sort_unstable();
    let rank: HashMap<u32, u32> = order
        .iter()
        .enumerate()
        .map(|(i, (_, f))| (*f, u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let mut ranked: Vec<(usize, Vec<u32>)> = reps
        .iter()
        .map(|&r| {
            let mut v: Vec<u32> = sets[r].iter().map(|f| rank[f]).collect();
            v.sort_unstable();
            (r, v)
        })
        .collect();
    ranked.sort_by_key(|(_, v)| v.len());
    let mut index: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    let mut seen = vec![usize::MAX; ranked.len()];
    for x in 0..ranked.len() {
        let len = ranked[x].1.len();
        if len == 0 {
            continue;
        }
        let prefix = prefix_length(len, threshold);
        for p in 0..prefix {
            let feature = ranked[x].1[p] as usize;
            for &y in &index[feature] {
                if seen[y] == x {
                    continue;
                }
                seen[y] = x;
                let other = ranked[y].1.len();
                // Sizes are non-decreasing, so |y| ≤ |x|: only the lower bound can fail.
                #[allow(clippy::cast_precision_loss)]
                if (other as f64) < threshold * len as f64 - EPSILON {
                    continue;
                }
                let common = intersection(&ranked[x].1, &ranked[y].1);
                if reaches(common, len + other - common, threshold) {
                    uf.union(ranked[x].0, ranked[y].0);
                }
            }
        }
        for p in 0..prefix {
            let feature = ranked[x].1[p] as usize;
            index[feature].push(x);
        }
    }
    uf.groups()
}

/// `|A| − ceil(t·|A|) + 1`, at least 1 and at most `|A|`.
fn prefix_length(len: usize, threshold: f64) -> usize {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let needed = (threshold * len as f64 - EPSILON).ceil().max(0.0) as usize;
    (len + 1).saturating_sub(needed).clamp(1, len)
}

/// The same clusters by comparing every pair (for tests and the benchmark's comparison).
pub fn naive(sets: &[Vec<u32>], threshold: f64) -> Vec<Vec<usize>> {
    let mut uf = UnionFind::new(sets.len());
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            let common = intersection(&sets[i], &sets[j]);
            if reaches(common, sets[i].len() + sets[j].len() - common, threshold) {
                uf.union(i, j);
            }
        }
    }
    uf.groups()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sorted(v: &[u32]) -> Vec<u32> {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn jaccard_by_table() {
        let cases: &[(&[u32], &[u32], f64)] = &[
            (&[], &[], 1.0),
            (&[1], &[], 0.0),
            (&[1, 2, 3], &[1, 2, 3], 1.0),
            (&[1, 2, 3, 4], &[1, 2, 3, 5], 0.6),
            (&[1, 2], &[3, 4], 0.0),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], &[1, 2, 3, 4, 5, 6, 7, 8, 9], 0.9),
        ];
        for (a, b, expected) in cases {
            assert!((jaccard(a, b) - expected).abs() < 1e-12, "{a:?} {b:?}");
        }
    }

    #[test]
    fn clusters_link_transitively_and_leave_singletons_out() {
        // a~b 9/11, b~c 9/11, but a~c only 8/12: at 0.8 single linkage joins all three.
        let base: Vec<u32> = (0..10).collect();
        let a = base.clone();
        let b = sorted(&[&base[..9], &[100]].concat());
        let c = sorted(&[&base[..8], &[100, 101]].concat());
        let far = vec![500, 501, 502];
        let sets = vec![a, far.clone(), b, c, far];
        assert_eq!(clusters(&sets, 0.8), vec![vec![0, 2, 3], vec![1, 4]]);
        assert_eq!(naive(&sets, 0.8), vec![vec![0, 2, 3], vec![1, 4]]);
        // At 1.0 only the identical pair.
        assert_eq!(clusters(&sets, 1.0), vec![vec![1, 4]]);
    }

    #[test]
    fn prefix_lengths() {
        assert_eq!(prefix_length(10, 0.9), 2);
        assert_eq!(prefix_length(10, 1.0), 1);
        assert_eq!(prefix_length(1, 0.9), 1);
        assert_eq!(prefix_length(3, 0.01), 3);
    }

    fn set_strategy() -> impl Strategy<Value = Vec<u32>> {
        proptest::collection::vec(0u32..24, 0..12).prop_map(|v| sorted(&v))
    }

    proptest! {
        #[test]
        fn similarity_is_symmetric_bounded_and_one_on_itself(a in set_strategy(), b in set_strategy()) {
            let s = jaccard(&a, &b);
            prop_assert!((0.0..=1.0).contains(&s));
            prop_assert!((s - jaccard(&b, &a)).abs() < 1e-12);
            prop_assert!((jaccard(&a, &a) - 1.0).abs() < 1e-12);
        }

        #[test]
        fn prefix_filtering_finds_the_clusters_all_pairs_finds(
            sets in proptest::collection::vec(set_strategy(), 0..40),
            threshold in prop_oneof![Just(1.0), Just(0.9), Just(0.75), Just(0.5), 0.05f64..1.0],
        ) {
            let fast = clusters(&sets, threshold);
            prop_assert_eq!(&fast, &naive(&sets, threshold));
            // A partition of some of the sets: every index at most once, groups of two or more.
            let mut all: Vec<usize> = fast.iter().flatten().copied().collect();
            let n = all.len();
            all.sort_unstable();
            all.dedup();
            prop_assert_eq!(all.len(), n);
            prop_assert!(fast.iter().all(|g| g.len() >= 2));
        }
    }
}
