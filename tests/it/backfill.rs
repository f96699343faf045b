//! (in progress) brew-backfill end to end.
