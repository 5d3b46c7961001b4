//! Causality between events: a deterministic linear order and an ancestry oracle.
//!
//! Every event names its parents (the frontier its author had seen). From that DAG we get
//! 1. a linear order that is a function of the *set* of events only (Kahn's algorithm, ties
//!    broken by device time then event id), so every replica folds in the same order whatever
//!    order the events arrived in; and
//! 2. `concurrent(a, b)`: neither event had seen the other, the basis of every conflict rule.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::model::Event;

/// Events in fold order, with their ancestry.
pub(crate) struct Causal<'a> {
    /// Events in linear (fold) order.
    pub events: Vec<&'a Event>,
    /// `ancestors[i]` is a bitset over positions in `events`.
    ancestors: Vec<Vec<u64>>,
}

impl<'a> Causal<'a> {
    /// Orders `events` causally. Duplicated ids keep their first occurrence (list order is the
    /// same on every converged replica); parents that are unknown are ignored, and a cycle
    /// (only a forged document can hold one) is broken by the same tie-break.
    pub fn new(all: &'a [Event]) -> Self {
        let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(all.len());
        let mut kept: Vec<&Event> = Vec::with_capacity(all.len());
        for e in all {
            if !by_id.contains_key(e.id.as_str()) {
                by_id.insert(e.id.as_str(), kept.len());
                kept.push(e);
            }
        }
        let n = kept.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut waiting: Vec<usize> = vec![0; n];
        for (i, e) in kept.iter().enumerate() {
            let mut parents: Vec<usize> = e
                .parents
                .iter()
                .filter_map(|p| by_id.get(p.as_str()).copied())
                .filter(|&p| p != i)
                .collect();
            parents.sort_unstable();
            parents.dedup();
            waiting[i] = parents.len();
            for p in parents {
                children[p].push(i);
            }
        }
        let key = |i: usize| Reverse((kept[i].at, kept[i].id.as_str(), i));
        let mut ready: BinaryHeap<_> = (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
        let mut order: Vec<usize> = Vec::with_capacity(n);
        let mut placed = vec![false; n];
        loop {
            while let Some(Reverse((_, _, i))) = ready.pop() {
                order.push(i);
                placed[i] = true;
                for &c in &children[i] {
                    waiting[c] -= 1;
                    if waiting[c] == 0 {
                        ready.push(key(c));
                    }
                }
            }
            if order.len() == n {
                break;
            }
            // A cycle: release the smallest remaining event by the tie-break.
            if let Some(i) = (0..n)
                .filter(|&i| !placed[i] && waiting[i] > 0)
                .min_by_key(|&i| (kept[i].at, kept[i].id.as_str()))
            {
                waiting[i] = 0;
                ready.push(key(i));
            }
        }

        let mut position = vec![0usize; n];
        for (pos, &i) in order.iter().enumerate() {
            position[i] = pos;
        }
        let words = n.div_ceil(64);
        let mut ancestors: Vec<Vec<u64>> = Vec::with_capacity(n);
        let events: Vec<&Event> = order.iter().map(|&i| kept[i]).collect();
        for (pos, e) in events.iter().enumerate() {
            let mut set = vec![0u64; words];
            for p in &e.parents {
                if let Some(&pi) = by_id.get(p.as_str()) {
                    let pp = position[pi];
                    // In a broken cycle a parent may come later; it is then not an ancestor.
                    if pp < pos {
                        for (w, a) in set.iter_mut().zip(&ancestors[pp]) {
                            *w |= *a;
                        }
                        set[pp / 64] |= 1 << (pp % 64);
                    }
                }
            }
            ancestors.push(set);
        }
        Causal { events, ancestors }
    }

    /// Whether the event at `a` happened before (was seen by the author of) the event at `b`.
    pub fn is_ancestor(&self, a: usize, b: usize) -> bool {
        self.ancestors
            .get(b)
            .and_then(|set| set.get(a / 64))
            .is_some_and(|w| w & (1 << (a % 64)) != 0)
    }

    /// Neither event had seen the other.
    pub fn concurrent(&self, a: usize, b: usize) -> bool {
        a != b && !self.is_ancestor(a, b) && !self.is_ancestor(b, a)
    }

    /// Ids of the events nothing else follows: the parents of the next event recorded here.
    pub fn frontier(all: &[Event]) -> Vec<String> {
        let referenced: std::collections::HashSet<&str> = all
            .iter()
            .flat_map(|e| e.parents.iter().map(String::as_str))
            .collect();
        let mut out: Vec<String> = all
            .iter()
            .map(|e| e.id.as_str())
            .filter(|id| !referenced.contains(id))
            .map(str::to_owned)
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
