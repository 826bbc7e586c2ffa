//! Id sequences as one process sees them: which sequences exist, and the values already drawn
//! from them but not handed out yet (id blocks).
//!
//! Why blocks: taking `nextval` for every create costs a statement, and it is the only statement
//! of a create whose answer is needed before the inserts can be written -- a round trip of its
//! own. Under load the backend draws several values with one statement and hands them out to the
//! transactions of this process (any connection) one at a time, so most creates need no
//! statement for their id at all.
//!
//! Why this is safe: every value still comes from `nextval`, which never hands a value out twice
//! (across processes and connections) and is never rolled back, so ids stay unique however many
//! processes share the database. A value drawn but never used (the process stops, or its
//! transaction rolls back) is a gap, which ids already had after rollbacks.
//!
//! Why the block size adapts: under light use (tests, people clicking) ids stay dense --
//! a block of one is exactly the old `nextval` per id. A block used up within
//! [`GROW_WITHIN`] of being drawn doubles the next one, up to [`MAX_BLOCK`]; a pause resets it.
//! So a restart loses at most [`MAX_BLOCK`] - 1 values per sequence, and ids of several
//! processes under load interleave in chunks of at most that size.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

/// Largest number of values drawn by one statement.
pub(crate) const MAX_BLOCK: i64 = 128;

/// A block used up faster than this makes the next one twice as large.
pub(crate) const GROW_WITHIN: Duration = Duration::from_secs(1);

/// Drawn values of one sequence.
struct Reserve {
    /// Values drawn from the sequence and not handed out yet, in the order drawn.
    ids: VecDeque<i64>,
    /// Size of the last block drawn.
    block: i64,
    /// When the last block was drawn.
    drawn: Option<Instant>,
}

/// The sequences of one database as this process knows them; shared by all its connections.
#[derive(Default)]
pub(crate) struct Sequences {
    /// Sequence names (without prefix) known to exist, committed.
    known: RwLock<HashSet<String>>,
    reserves: Mutex<HashMap<String, Reserve>>,
}

impl Sequences {
    /// True when `name` is known to exist (committed).
    pub(crate) fn is_known(&self, name: &str) -> bool {
        self.known.read().contains(name)
    }

    /// Records that `name` exists (committed).
    pub(crate) fn set_known(&self, name: &str) {
        self.known.write().insert(name.to_string());
    }

    /// A value drawn earlier and not handed out yet, if any.
    pub(crate) fn take(&self, name: &str) -> Option<i64> {
        self.reserves.lock().get_mut(name)?.ids.pop_front()
    }

    /// How many values to draw now that `name` has none left: twice the last block when that
    /// one was drawn within [`GROW_WITHIN`], else one. Records the draw.
    pub(crate) fn next_block(&self, name: &str) -> i64 {
        let now = Instant::now();
        let mut reserves = self.reserves.lock();
        let reserve = reserves.entry(name.to_string()).or_insert(Reserve {
            ids: VecDeque::new(),
            block: 0,
            drawn: None,
        });
        let busy = reserve
            .drawn
            .is_some_and(|t| now.duration_since(t) < GROW_WITHIN);
        reserve.block = if busy {
            (reserve.block * 2).clamp(1, MAX_BLOCK)
        } else {
            1
        };
        reserve.drawn = Some(now);
        reserve.block
    }

    /// Keeps drawn values for later transactions of this process.
    pub(crate) fn give(&self, name: &str, ids: impl IntoIterator<Item = i64>) {
        let mut reserves = self.reserves.lock();
        if let Some(reserve) = reserves.get_mut(name) {
            reserve.ids.extend(ids);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_grow_under_load_and_values_are_handed_out_once() {
        let s = Sequences::default();
        assert_eq!(s.take("inst"), None);
        // Back-to-back draws double the block, up to the cap.
        let sizes: Vec<i64> = (0..10).map(|_| s.next_block("inst")).collect();
        assert_eq!(sizes, vec![1, 2, 4, 8, 16, 32, 64, 128, 128, 128]);
        s.give("inst", [10, 11, 13]);
        assert_eq!(s.take("inst"), Some(10));
        assert_eq!(s.take("inst"), Some(11));
        assert_eq!(s.take("inst"), Some(13));
        assert_eq!(s.take("inst"), None);
        // Other sequences are independent.
        assert_eq!(s.take("host"), None);
        assert_eq!(s.next_block("host"), 1);
    }
}
