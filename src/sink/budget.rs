//! The write stage's memory, shared by every file a process has open.
//!
//! Each open Parquet file holds two kinds of memory that grow with the data: its open row
//! group (encoded pages, compressed and not yet) and the bytes waiting in its upload for a
//! part to fill. One file alone is bounded by the row-group and part sizes, but a chunk writes
//! about fifteen tables at once and a run writes a few chunks at once, so those bounds add
//! up: two days of 50,000 conversations held about 190 MB in row groups and upload buffers
//! (benches/profile.md, "Fourth round"). A [`WriteBudget`] caps the sum. Each file keeps a
//! [`Charge`] on the budget up to date after every batch; a file that finds the budget passed
//! gives back what it can (closes its row group early, sends its buffered bytes as a part), so
//! the data held stays near the budget however many days and tables are open and however
//! large a day is.
//!
//! The budget counts what a file can give back. It leaves out:
//! - the fixed cost of an open column writer (its compression context and the capacity of its
//!   page buffers), which depends on the tables' width, not on volume;
//! - parts in flight to the store (at most a few per file, and quick for a local folder);
//! - on S3, the upload buffer, which cannot be sent before it makes a full part (S3 takes parts
//!   from 5 MiB, and some compatible stores want equal parts): it waits in a temporary file,
//!   not in memory ([`super::upload`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A cap on the bytes all open files hold at once; see the module docs.
#[derive(Debug)]
pub struct WriteBudget {
    limit: usize,
    held: AtomicUsize,
    /// The most ever held at once: what a run can report, and what tests pin.
    peak: AtomicUsize,
}

impl WriteBudget {
    /// A budget of `limit` bytes (at least one).
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(WriteBudget {
            limit: limit.max(1),
            held: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes charged now, over all open files.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// The most the files held at once so far. It can pass the limit: a file gives back only
    /// once its row group holds `row_group_min_bytes`, and a batch lands before its file looks.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Whether the files hold more than the budget.
    pub fn passed(&self) -> bool {
        self.held() > self.limit
    }

    /// A charge of nothing yet, for one holder.
    pub fn charge(self: &Arc<Self>) -> Charge {
        Charge {
            budget: self.clone(),
            bytes: 0,
        }
    }
}

/// What one holder has on a [`WriteBudget`]; given back when dropped, so a file closed or
/// abandoned on any path (error, abort, panic) never leaves its bytes counted.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<WriteBudget>,
    bytes: usize,
}

impl Charge {
    /// Sets this holder's bytes, and returns whether the budget is passed.
    pub fn set(&mut self, bytes: usize) -> bool {
        if bytes > self.bytes {
            let added = bytes - self.bytes;
            let held = self.budget.held.fetch_add(added, Ordering::Relaxed) + added;
            self.budget.peak.fetch_max(held, Ordering::Relaxed);
        } else {
            self.budget
                .held
                .fetch_sub(self.bytes - bytes, Ordering::Relaxed);
        }
        self.bytes = bytes;
        self.budget.passed()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_move_both_ways_and_are_given_back_when_dropped() {
        let budget = WriteBudget::new(100);
        let mut a = budget.charge();
        let mut b = budget.charge();
        assert!(!a.set(60));
        assert!(!b.set(40));
        assert_eq!(budget.held(), 100);
        assert!(b.set(41), "101 bytes pass a budget of 100");
        assert!(!a.set(10));
        assert_eq!(budget.peak(), 101);
        assert_eq!(budget.held(), 51);
        drop(a);
        assert_eq!(budget.held(), 41);
        drop(b);
        assert_eq!(budget.held(), 0);
        assert!(!budget.passed());
    }
}
