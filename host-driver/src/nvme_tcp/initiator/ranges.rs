//! Which byte ranges of one command's transfer have arrived: disjoint, sorted, and merged
//! where they touch. Data normally arrives in order, so an insert is usually an append to
//! the last range and the set stays one range long.

use std::ops::Range;

#[derive(Debug, Default, Clone)]
pub struct RangeSet {
    ranges: Vec<Range<usize>>,
}

impl RangeSet {
    /// Adds `r`. If it overlaps bytes already present, nothing changes and the first
    /// overlapping part is returned.
    pub fn insert(&mut self, r: Range<usize>) -> Result<(), Range<usize>> {
        if r.is_empty() {
            return Ok(());
        }
        // The ranges are sorted and disjoint, so their ends are sorted too.
        let i = self.ranges.partition_point(|x| x.end <= r.start);
        if let Some(next) = self.ranges.get(i) {
            if next.start < r.end {
                return Err(next.start.max(r.start)..next.end.min(r.end));
            }
        }
        let joins_prev = i > 0 && self.ranges[i - 1].end == r.start;
        let joins_next = self.ranges.get(i).is_some_and(|n| n.start == r.end);
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ranges[i - 1].end = self.ranges[i].end;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].end = r.end,
            (false, true) => self.ranges[i].start = r.start,
            (false, false) => self.ranges.insert(i, r),
        }
        Ok(())
    }

    /// Bytes present.
    pub fn covered(&self) -> usize {
        self.ranges.iter().map(|r| r.len()).sum()
    }

    /// The first range of `0..len` that is missing, if any.
    pub fn first_gap(&self, len: usize) -> Option<Range<usize>> {
        let mut at = 0;
        for r in &self.ranges {
            if r.start > at {
                return Some(at..r.start.min(len));
            }
            at = r.end;
        }
        (at < len).then_some(at..len)
    }

    /// The parts of `r` that are present, in order.
    pub fn within(&self, r: Range<usize>) -> Vec<Range<usize>> {
        let first = self.ranges.partition_point(|x| x.end <= r.start);
        self.ranges[first..].iter().take_while(|x| x.start < r.end).map(|x| x.start.max(r.start)..x.end.min(r.end)).collect()
    }

    /// Whether every byte of `r` is present.
    pub fn covers(&self, r: Range<usize>) -> bool {
        r.is_empty() || self.ranges.iter().any(|x| x.start <= r.start && r.end <= x.end)
    }
}

#[cfg(test)]
mod tests {
    use super::RangeSet;

    #[test]
    fn inserts_merge_detect_overlaps_and_report_gaps() {
        let mut s = RangeSet::default();
        assert_eq!(s.first_gap(100), Some(0..100));
        s.insert(40..60).unwrap();
        s.insert(0..10).unwrap();
        s.insert(80..100).unwrap();
        assert_eq!(s.first_gap(100), Some(10..40));
        assert_eq!(s.insert(55..85), Err(55..60));
        assert_eq!(s.insert(5..15), Err(5..10));
        assert_eq!(s.insert(0..100), Err(0..10));
        assert_eq!(s.covered(), 50, "a rejected insert changes nothing");
        assert_eq!(s.within(5..90), vec![5..10, 40..60, 80..90]);
        assert!(s.within(10..40).is_empty());
        assert_eq!(s.within(45..50), vec![45..50]);
        s.insert(10..40).unwrap();
        s.insert(60..80).unwrap();
        assert_eq!(s.ranges, vec![0..100]);
        assert_eq!(s.first_gap(100), None);
        assert_eq!(s.first_gap(120), Some(100..120));
        assert_eq!(s.insert(99..101), Err(99..100));
        s.insert(7..7).unwrap();
        assert_eq!(s.covered(), 100);
    }
}
