//! Which detectors' anchor literals (`@`, `sk-`, `AKIA`, `ghp_`, `eyJ`, `-----BEGIN`, …) occur
//! in a text, found through the rare byte each literal contains.
//!
//! Every anchor holds one of `@ - _ A J`, bytes that are rare in prose; only where one occurs
//! are the few literals that hold it compared. Finding the occurrences is folded into the
//! gates' word-at-a-time pass ([`super::Signals`]): an Aho-Corasick automaton over all anchors
//! walked every byte of every text (≈ 2 ns a byte natively once the anchors had more than three
//! distinct first bytes), and `memchr` over the five bytes cost ≈ 4 ns a byte under V8, where
//! it has no SIMD.

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

    /// Whether `b` is one of the rare bytes anchors are found by.
    pub fn is_key(b: u8) -> bool {
        KEYS.contains(&b)
    }

    /// Marks `open[owner]` for every anchor that holds its rare byte at `text[at]`.
    pub fn check_at(&self, text: &[u8], at: usize, open: &mut [bool]) {
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
    }

    /// Marks `open[owner]` for every anchor found in `text` (the gates' pass does this word at a
    /// time; this is the plain definition it is tested against).
    #[cfg(test)]
    pub fn find(&self, text: &[u8], open: &mut [bool]) {
        for (at, b) in text.iter().enumerate() {
            if Self::is_key(*b) {
                self.check_at(text, at, open);
            }
        }
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
