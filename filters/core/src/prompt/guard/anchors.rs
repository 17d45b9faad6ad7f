//! Which detectors' anchor literals (`@`, `sk-`, `AKIA`, `ghp_`, `eyJ`, `-----BEGIN`, …) occur
//! in a text, found through the rare byte each literal contains.
//!
//! Every anchor holds one of `@ - _ A J`, bytes that are rare in prose; `memchr` finds their
//! occurrences (word at a time, even without SIMD), and only there are the few literals that
//! hold that byte compared. An Aho-Corasick automaton over all anchors walked every byte of every
//! text instead — about 2 ns a byte once the anchors had more than three distinct first bytes,
//! which is most of a guard's cost on ordinary text.

/// The rare bytes, in the order they are looked for.
const KEYS: [u8; 5] = [b'@', b'-', b'_', b'A', b'J'];

#[derive(Debug, Default)]
pub struct Anchors {
    /// (rare byte, its offset in the literal, literal, owner).
    entries: Vec<(u8, usize, &'static [u8], usize)>,
}

impl Anchors {
    /// Adds `literal` for `owner`. `false`: the literal holds none of the rare bytes (a
    /// detector's anchors must).
    pub fn add(&mut self, literal: &'static str, owner: usize) -> bool {
        let bytes = literal.as_bytes();
        match bytes.iter().position(|b| KEYS.contains(b)) {
            Some(offset) => {
                let key = bytes.get(offset).copied().unwrap_or_default();
                self.entries.push((key, offset, bytes, owner));
                true
            }
            None => false,
        }
    }

    /// Marks `open[owner]` for every anchor found in `text`.
    pub fn find(&self, text: &[u8], open: &mut [bool]) {
        if self.entries.is_empty() {
            return;
        }
        let mut check = |at: usize| {
            let Some(&key) = text.get(at) else { return };
            for (k, offset, literal, owner) in &self.entries {
                if *k != key {
                    continue;
                }
                let Some(start) = at.checked_sub(*offset) else { continue };
                let end = start.saturating_add(literal.len());
                if text.get(start..end) == Some(*literal) {
                    if let Some(slot) = open.get_mut(*owner) {
                        *slot = true;
                    }
                }
            }
        };
        memchr::memchr3_iter(b'@', b'-', b'_', text).for_each(&mut check);
        memchr::memchr2_iter(b'A', b'J', text).for_each(&mut check);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_anchor_where_it_is_and_nowhere_else() {
        let mut a = Anchors::default();
        for (literal, owner) in
            [("@", 0), ("sk-", 1), ("sk-ant-", 2), ("ghp_", 3), ("eyJ", 4), ("-----BEGIN", 5), ("AKIA", 6)]
        {
            assert!(a.add(literal, owner));
        }
        assert!(!a.add("plain", 7));
        let found = |text: &str| {
            let mut open = vec![false; 8];
            a.find(text.as_bytes(), &mut open);
            open.iter().enumerate().filter(|(_, o)| **o).map(|(i, _)| i).collect::<Vec<_>>()
        };
        assert_eq!(found("nothing - here_ at All, Just words"), Vec::<usize>::new());
        assert_eq!(found("mail a@b and sk-ant-x"), vec![0, 1, 2]);
        assert_eq!(found("sk-"), vec![1]);
        assert_eq!(found("xghp_ eyJ -----BEGIN AKIA"), vec![3, 4, 5, 6]);
        assert_eq!(found("k-ant- ----BEGIN AKI"), Vec::<usize>::new(), "cut short at either end");
    }
}
