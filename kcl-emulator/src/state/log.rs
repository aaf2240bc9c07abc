//! A shard's retained records: a deque kept in fixed-size chunks.
//!
//! A plain `VecDeque` doubles as a busy shard grows, and every doubling copies all retained records into
//! freshly zeroed memory: under a PutRecords load the kernel's page zeroing and that copy were the largest
//! cost of the server after JSON (see `kcl-emulator/BENCHMARKS.md`). Here the first chunk grows as a
//! `VecDeque` does (a quiet shard stays small), and once it holds [`CHUNK`] records further records go to
//! new chunks allocated at their full size, so a record is written once and never moved. Records leave
//! from the front (retention), which frees whole chunks.

use std::collections::VecDeque;
use std::ops::Index;

/// Records per chunk (a chunk of `StoredRecord`s is about 144 KiB).
const CHUNK: usize = 2048;

/// A deque of records in chunks: every chunk but the first and the last holds exactly [`CHUNK`].
#[derive(Debug)]
pub(crate) struct RecordLog<T> {
    chunks: VecDeque<VecDeque<T>>,
    len: usize,
}

impl<T> Default for RecordLog<T> {
    fn default() -> Self {
        Self {
            chunks: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> RecordLog<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends at the back.
    pub(crate) fn push_back(&mut self, value: T) {
        match self.chunks.back_mut() {
            Some(last) if last.len() < CHUNK => last.push_back(value),
            Some(_) => {
                let mut chunk = VecDeque::with_capacity(CHUNK);
                chunk.push_back(value);
                self.chunks.push_back(chunk);
            }
            None => self.chunks.push_back(VecDeque::from([value])),
        }
        self.len += 1;
    }

    /// Removes the oldest record.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let first = self.chunks.front_mut()?;
        let value = first.pop_front()?;
        if first.is_empty() && self.chunks.len() > 1 {
            self.chunks.pop_front();
        }
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn front(&self) -> Option<&T> {
        self.chunks.front().and_then(VecDeque::front)
    }

    pub(crate) fn back(&self) -> Option<&T> {
        self.chunks.back().and_then(VecDeque::back)
    }

    /// The record at position `index` (0 is the oldest retained).
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        let first = self.chunks.front()?;
        if index < first.len() {
            return first.get(index);
        }
        let rest = index - first.len();
        self.chunks.get(1 + rest / CHUNK)?.get(rest % CHUNK)
    }

    /// The records from position `start` on, oldest first.
    pub(crate) fn range_from(&self, start: usize) -> impl Iterator<Item = &T> {
        let (chunk, offset) = match self.chunks.front() {
            Some(first) if start >= first.len() => {
                let rest = start - first.len();
                (1 + rest / CHUNK, rest % CHUNK)
            }
            _ => (0, start),
        };
        self.chunks
            .range(chunk.min(self.chunks.len())..)
            .enumerate()
            .flat_map(move |(i, c)| c.range(if i == 0 { offset.min(c.len()) } else { 0 }..))
    }

    /// Every record, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// The number of leading records for which `pred` holds (records must be partitioned by it).
    pub(crate) fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        let mut before = 0;
        for chunk in &self.chunks {
            match chunk.back() {
                Some(last) if pred(last) => before += chunk.len(),
                _ => return before + chunk.partition_point(|v| pred(v)),
            }
        }
        before
    }
}

impl<T> Index<usize> for RecordLog<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        match self.get(index) {
            Some(value) => value,
            None => panic!("record {index} is outside the log of {} records", self.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The log behaves as one `VecDeque` under any mix of pushes and pops, across chunk boundaries.
        #[test]
        fn behaves_as_a_deque(ops in proptest::collection::vec((0usize..3 * CHUNK, 0usize..3 * CHUNK), 1..8)) {
            let mut log = RecordLog::default();
            let mut model = VecDeque::new();
            let mut next = 0u64;
            for (push, pop) in ops {
                for _ in 0..push {
                    log.push_back(next);
                    model.push_back(next);
                    next += 1;
                }
                for _ in 0..pop {
                    prop_assert_eq!(log.pop_front(), model.pop_front());
                }
                prop_assert_eq!(log.len(), model.len());
                prop_assert_eq!(log.is_empty(), model.is_empty());
                prop_assert_eq!(log.front(), model.front());
                prop_assert_eq!(log.back(), model.back());
                prop_assert!(log.iter().eq(model.iter()));
                for start in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, model.len() / 2, model.len(), model.len() + 5] {
                    prop_assert!(log.range_from(start).eq(model.iter().skip(start)), "from {}", start);
                    prop_assert_eq!(log.get(start), model.get(start));
                }
                if let Some(&pivot) = model.get(model.len() / 3) {
                    prop_assert_eq!(
                        log.partition_point(|&v| v < pivot),
                        model.partition_point(|&v| v < pivot)
                    );
                }
                prop_assert_eq!(log.partition_point(|_| true), model.len());
                prop_assert_eq!(log.partition_point(|_| false), 0);
            }
        }
    }
}
