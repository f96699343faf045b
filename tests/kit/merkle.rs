//! RFC 6962 §2.1 Merkle tree hashing and inclusion proofs, over the leaf hashes Rekor keeps.
//! Pure functions; the log state lives in `rekor.rs`.

use sha2::{Digest, Sha256};

/// A SHA-256 tree node or leaf hash.
pub(crate) type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`: the hash of a leaf whose contents are `data`.
pub(crate) fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub(crate) fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two strictly below `n` (`n >= 2`): where RFC 6962 splits a tree.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// An append-only RFC 6962 tree that keeps every complete subtree's hash, so roots and
/// inclusion proofs for any tree size cost O(log² n) hashes instead of rehashing all leaves
/// (benchmarks log many entries).
#[derive(Debug, Default)]
pub(crate) struct Tree {
    /// `levels[h][i]`: the hash of leaves `i·2^h .. (i+1)·2^h`; `levels[0]` are the leaves.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// Number of leaves.
    pub(crate) fn len(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// Append a leaf hash.
    pub(crate) fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        for height in 0.. {
            if self.levels.len() == height {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[height];
            level.push(node);
            if level.len() % 2 == 1 {
                break;
            }
            node = node_hash(&level[level.len() - 2], &level[level.len() - 1]);
        }
    }

    /// `MTH(D[lo..hi])` for `lo < hi <= len`, as RFC 6962 splits it.
    fn subtree(&self, lo: usize, hi: usize) -> Hash {
        let width = hi - lo;
        if width.is_power_of_two() && lo % width == 0 {
            let height = width.trailing_zeros() as usize;
            if let Some(hash) = self
                .levels
                .get(height)
                .and_then(|level| level.get(lo / width))
            {
                return *hash;
            }
        }
        let k = split(width);
        node_hash(&self.subtree(lo, lo + k), &self.subtree(lo + k, hi))
    }

    /// `MTH(D[size])`, the root of the first `size` leaves (`size <= len`).
    pub(crate) fn root(&self, size: usize) -> Hash {
        if size == 0 || size > self.len() {
            return Sha256::digest([]).into();
        }
        self.subtree(0, size)
    }

    /// `PATH(index, D[size])`, the audit path of leaf `index` in the tree of the first `size`
    /// leaves, from the leaf's sibling up to the root's child. Empty when out of range.
    pub(crate) fn inclusion_proof(&self, index: usize, size: usize) -> Vec<Hash> {
        if index >= size || size > self.len() {
            return Vec::new();
        }
        let mut path = Vec::new();
        self.path(index, 0, size, &mut path);
        path
    }

    fn path(&self, index: usize, lo: usize, hi: usize, path: &mut Vec<Hash>) {
        if hi - lo < 2 {
            return;
        }
        let k = split(hi - lo);
        if index < lo + k {
            self.path(index, lo, lo + k, path);
            path.push(self.subtree(lo + k, hi));
        } else {
            self.path(index, lo + k, hi, path);
            path.push(self.subtree(lo, lo + k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162 §2.1.3.2 verification, written independently of the generator above.
    fn verify(index: usize, size: usize, leaf: &Hash, proof: &[Hash], expected: &Hash) -> bool {
        if index >= size {
            return false;
        }
        let (mut fn_, mut sn) = (index, size - 1);
        let mut r = *leaf;
        for p in proof {
            if sn == 0 {
                return false;
            }
            if fn_ & 1 == 1 || fn_ == sn {
                r = node_hash(p, &r);
                if fn_ & 1 == 0 {
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        sn == 0 && r == *expected
    }

    /// RFC 6962 §2.1 `MTH`, straight from the definition.
    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves {
            [] => Sha256::digest([]).into(),
            [leaf] => *leaf,
            _ => {
                let k = split(leaves.len());
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn every_proof_verifies_for_trees_up_to_70_leaves() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = Tree::default();
        for leaf in &leaves {
            tree.push(*leaf);
        }
        assert_eq!(tree.len(), leaves.len());
        for size in 1..=leaves.len() {
            let root = tree.root(size);
            assert_eq!(root, naive_root(&leaves[..size]), "root of {size}");
            for (index, leaf) in leaves[..size].iter().enumerate() {
                let proof = tree.inclusion_proof(index, size);
                assert!(
                    verify(index, size, leaf, &proof, &root),
                    "index {index} of {size}"
                );
                assert!(!verify(index, size, &leaf_hash(b"other"), &proof, &root));
            }
        }
    }

    #[test]
    fn empty_tree_root_is_the_hash_of_nothing() {
        assert_eq!(
            hex::encode(Tree::default().root(0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
