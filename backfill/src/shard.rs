//! `--shard I/N`: a stable split of the plan for an Actions matrix.
//!
//! A bottle's shard is a function of its subject name alone (the first eight bytes of its
//! SHA-256, modulo N), not of its position in the plan, so adding or removing other bottles
//! between two runs never moves a bottle to another shard, and every shard's journal stays
//! valid when the formula JSON changes under a re-run.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Whether the bottle with this subject name belongs to this shard.
    pub(crate) fn contains(&self, subject: &str) -> bool {
        let hash = Sha256::digest(subject.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard: expected I/N with 1 ≤ I ≤ N, e.g. 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let s: Shard = "2/8".parse().unwrap();
        assert_eq!(s.to_string(), "2/8");
        for bad in ["0/8", "9/8", "1/0", "x/2", "3", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_name_is_in_exactly_one_shard_and_stays_there() {
        let shards: Vec<Shard> = (1..=5).map(|i| format!("{i}/5").parse().unwrap()).collect();
        for n in 0..500 {
            let name = format!("{n:064x}--f{n}--1.0.sonoma.bottle.tar.gz");
            let owners: Vec<_> = shards.iter().filter(|s| s.contains(&name)).collect();
            assert_eq!(owners.len(), 1, "{name}");
        }
        // Roughly even: no shard holds less than half its share of 500 names.
        for s in &shards {
            let held = (0..500)
                .filter(|n| s.contains(&format!("{n:064x}--f{n}--1.0.sonoma.bottle.tar.gz")))
                .count();
            assert!(held > 50, "{s}: {held}");
        }
    }
}
