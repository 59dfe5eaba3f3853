//! Window assignment (contract §4): half-open `[start, end)` windows aligned to
//! the Unix epoch plus an offset, as Flink's `TimeWindow.getWindowStartWithOffset`.

/// Tumbling (`slide == size`) or hopping (`slide < size`) event-time windows,
/// all times in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigner {
    pub size: i64,
    pub slide: i64,
    pub offset: i64,
}

/// The most windows one record may belong to (`size / slide`): beyond this a
/// hopping window is almost certainly a typo, and each record would cost that
/// many updates.
pub const MAX_WINDOWS_PER_RECORD: i64 = 1000;

impl Assigner {
    pub fn tumbling(size: i64, offset: i64) -> Result<Assigner, String> {
        Assigner::hopping(size, size, offset)
    }

    pub fn hopping(size: i64, slide: i64, offset: i64) -> Result<Assigner, String> {
        if size <= 0 {
            return Err("--size must be positive".into());
        }
        if slide <= 0 {
            return Err("--slide must be positive".into());
        }
        if slide > size {
            return Err(format!(
                "--slide ({slide} ms) must not exceed --size ({size} ms): records between windows would belong to none"
            ));
        }
        if size / slide > MAX_WINDOWS_PER_RECORD {
            return Err(format!(
                "--size / --slide is {}, more than {MAX_WINDOWS_PER_RECORD} windows per record",
                size / slide
            ));
        }
        Ok(Assigner {
            size,
            slide,
            // Only the offset's phase matters.
            offset: offset.rem_euclid(slide),
        })
    }

    pub fn is_tumbling(&self) -> bool {
        self.size == self.slide
    }

    /// Start of the latest window that contains `t`.
    #[inline]
    pub fn last_start(&self, t: i64) -> i64 {
        t - (t - self.offset).rem_euclid(self.slide)
    }

    /// Every window `(start, end)` containing `t`, earliest first.
    #[inline]
    pub fn windows(&self, t: i64) -> WindowIter {
        let last = self.last_start(t);
        // Starts s = last - j*slide with s > t - size.
        let n = (self.size - (t - last) + self.slide - 1) / self.slide;
        WindowIter {
            next: last - (n - 1) * self.slide,
            last,
            slide: self.slide,
            size: self.size,
        }
    }
}

/// Iterator over the windows of one timestamp.
pub struct WindowIter {
    next: i64,
    last: i64,
    slide: i64,
    size: i64,
}

impl Iterator for WindowIter {
    type Item = (i64, i64);

    #[inline]
    fn next(&mut self) -> Option<(i64, i64)> {
        if self.next > self.last {
            return None;
        }
        let s = self.next;
        self.next += self.slide;
        Some((s, s + self.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;

    #[test]
    fn tumbling_minutes() {
        let a = Assigner::tumbling(MIN, 0).unwrap();
        assert_eq!(a.windows(0).collect::<Vec<_>>(), vec![(0, MIN)]);
        assert_eq!(a.windows(MIN - 1).collect::<Vec<_>>(), vec![(0, MIN)]);
        // Exactly on window_end: the next window.
        assert_eq!(a.windows(MIN).collect::<Vec<_>>(), vec![(MIN, 2 * MIN)]);
        assert_eq!(a.windows(-1).collect::<Vec<_>>(), vec![(-MIN, 0)]);
    }

    #[test]
    fn offsets_shift_the_grid() {
        let a = Assigner::tumbling(MIN, 15_000).unwrap();
        assert_eq!(
            a.windows(10_000).collect::<Vec<_>>(),
            vec![(-45_000, 15_000)]
        );
        assert_eq!(
            a.windows(15_000).collect::<Vec<_>>(),
            vec![(15_000, 75_000)]
        );
    }

    #[test]
    fn hopping_windows() {
        let a = Assigner::hopping(5 * MIN, MIN, 0).unwrap();
        let w: Vec<_> = a.windows(7 * MIN + 5).collect();
        assert_eq!(
            w,
            (3..=7)
                .map(|s| (s * MIN, s * MIN + 5 * MIN))
                .collect::<Vec<_>>()
        );
        assert!(Assigner::hopping(MIN, 2 * MIN, 0).is_err());
        assert!(Assigner::hopping(0, 0, 0).is_err());
    }

    proptest! {
        #[test]
        fn every_time_lands_in_exactly_one_tumbling_window(
            t in -10_000_000_000i64..10_000_000_000,
            size in 1i64..10_000_000,
            offset in -10_000_000i64..10_000_000,
        ) {
            let a = Assigner::tumbling(size, offset).unwrap();
            let w: Vec<_> = a.windows(t).collect();
            prop_assert_eq!(w.len(), 1);
            let (s, e) = w[0];
            prop_assert!(s <= t && t < e);
            prop_assert_eq!(e - s, size);
            prop_assert_eq!((s - offset).rem_euclid(size), 0);
            // A time exactly on window_end belongs to the next window.
            prop_assert_eq!(a.windows(e).next(), Some((e, e + size)));
        }

        #[test]
        fn hopping_windows_are_all_aligned_windows_containing_t(
            t in -1_000_000_000i64..1_000_000_000,
            slide in 1i64..100_000,
            factor in 1i64..20,
            extra in 0i64..100_000,
            offset in 0i64..100_000,
        ) {
            let size = (slide * factor + extra % slide.max(1)).max(slide);
            let a = Assigner::hopping(size, slide, offset).unwrap();
            let w: Vec<_> = a.windows(t).collect();
            // Brute force: every aligned start in (t - size, t].
            let mut expect = Vec::new();
            let mut s = a.last_start(t - size) ;
            while s <= t {
                if s > t - size && (s - offset).rem_euclid(slide) == 0 {
                    expect.push((s, s + size));
                }
                s += slide;
            }
            prop_assert_eq!(&w, &expect);
            prop_assert_eq!(w.len() as i64, if size % slide == 0 { size / slide } else { w.len() as i64 });
            prop_assert!(w.len() as i64 >= size / slide && w.len() as i64 <= size / slide + 1);
        }
    }
}
