//! Many digests per request: the attestations bulk-list endpoint for `plan` and `audit`.
//!
//! `POST /orgs/{owner}/attestations/bulk-list` (or `/users/{owner}/…`) answers up to
//! [`BULK_DIGESTS_PER_REQUEST`] digests per request for every repository of an owner, where the
//! per-repository endpoint costs one request per digest and source. The answers of every owner
//! the policy names are merged into one pile per digest, which the policy then files under its
//! sources by certificate (`Policy::evaluate_pile`, the same attribution `--bundle` files get).
//! Where the endpoint does not exist (GitHub Enterprise Server), the caller falls back to
//! per-digest lookups.

use std::collections::{BTreeSet, HashMap};

use bottle_attest::Policy;
use bottle_attest::bundle::BundleCandidate;
use bottle_attest::statement::SLSA_PROVENANCE_V1;
use bottle_attest_net::github::{BULK_DIGESTS_PER_REQUEST, GitHubClient, GitHubError, Listing};
use sigstore_types::Sha256Hash;

/// Every candidate the policy's owners have for each digest.
pub(crate) type Piles = HashMap<Sha256Hash, Vec<BundleCandidate>>;

/// The piles for `digests`, or `None` (with the reason) when per-digest lookups must be used.
pub(crate) async fn prefetch(
    github: &GitHubClient,
    policy: &Policy,
    digests: &[Sha256Hash],
) -> Result<Piles, String> {
    let owners: BTreeSet<String> = policy
        .sources
        .iter()
        .filter_map(|s| s.repository.split_once('/'))
        .map(|(owner, _)| owner.to_ascii_lowercase())
        .collect();
    let mut piles: Piles = digests.iter().map(|d| (*d, Vec::new())).collect();
    for owner in owners {
        match github
            .bulk_attestations(&owner, digests, Some(SLSA_PROVENANCE_V1), None)
            .await
        {
            Ok(answer) => {
                for (digest, listing) in answer {
                    if let (Some(pile), Listing::Found(found)) = (piles.get_mut(&digest), listing) {
                        pile.extend(found);
                    }
                }
            }
            Err(e @ GitHubError::BulkUnavailable { .. }) => return Err(e.to_string()),
            Err(e) => return Err(format!("bulk lookup for {owner} failed: {e}")),
        }
    }
    Ok(piles)
}

/// How many digests go in one bulk request (for messages).
pub(crate) const PER_REQUEST: usize = BULK_DIGESTS_PER_REQUEST;
