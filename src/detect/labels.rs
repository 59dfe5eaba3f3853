//! `--evaluate --labels FILE`: ground truth for inputs that carry none, such
//! as reefer-window rows. FILE holds the labelled readings the input was made
//! from (reefer-sim output); a row takes the fault label of the first
//! labelled reading of its container inside `[window_start, window_end)`.

use super::engine::FxMap;
use crate::codec::{FormatChoice, Input, Source};
use crate::time::TimeParser;

/// Per container, the times its label changes, in event-time order.
#[derive(Default)]
pub struct Labels {
    kinds: Vec<Box<str>>,
    changes: FxMap<Box<str>, Vec<(i64, Option<u16>)>>,
}

impl Labels {
    /// Reads the labelled readings of `path`. Lines that are not readings with
    /// a container and a time are counted and left out (they label nothing).
    pub fn read(path: &str, times: &TimeParser) -> anyhow::Result<(Labels, u64)> {
        use anyhow::Context;
        let source = Source::open(path, FormatChoice::Auto)
            .map_err(|e| crate::app::usage(format!("--labels {path}: {e}")))?;
        let mut input = Input::from_source(source);
        let mut labels = Labels::default();
        let mut skipped = 0u64;
        let mut last: FxMap<Box<str>, (i64, Option<u16>)> = FxMap::default();
        while let Some(next) = input
            .next_rec()
            .with_context(|| format!("reading --labels {path}"))?
        {
            let Ok(rec) = next else {
                skipped += 1;
                continue;
            };
            let Ok(map) = rec.into_map() else {
                skipped += 1;
                continue;
            };
            let id = map.get("container_id").and_then(|v| v.as_str());
            let t = map
                .get("measurement_time")
                .and_then(|v| v.as_str())
                .and_then(|s| times.parse_ms(s).ok());
            let (Some(id), Some(t)) = (id, t) else {
                skipped += 1;
                continue;
            };
            let kind = map
                .get("fault")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(|k| labels.intern(k));
            let changed = match last.get(id) {
                Some(&(_, prev)) => prev != kind,
                None => true,
            };
            if changed {
                labels.changes.entry(id.into()).or_default().push((t, kind));
            }
            last.insert(id.into(), (t, kind));
        }
        for v in labels.changes.values_mut() {
            v.sort_by_key(|&(t, _)| t);
        }
        Ok((labels, skipped))
    }

    fn intern(&mut self, kind: &str) -> u16 {
        match self.kinds.iter().position(|k| &**k == kind) {
            Some(i) => i as u16,
            None => {
                self.kinds.push(kind.into());
                (self.kinds.len() - 1) as u16
            }
        }
    }

    /// The label of `container` in `[from, to)`: the one in force at `from`,
    /// else the first that starts before `to`.
    pub fn during(&self, container: &str, from: i64, to: i64) -> Option<&str> {
        let changes = self.changes.get(container)?;
        let at = changes.partition_point(|&(t, _)| t <= from);
        let in_force = at.checked_sub(1).and_then(|i| changes[i].1);
        let kind = in_force.or_else(|| {
            changes[at..]
                .iter()
                .take_while(|&&(t, _)| t < to)
                .find_map(|&(_, k)| k)
        })?;
        Some(&self.kinds[kind as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_takes_the_label_in_force_or_the_first_one_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.jsonl");
        let line = |t: &str, f: &str| {
            format!("{{\"container_id\":\"A\",\"measurement_time\":\"2026-11-01T00:{t}Z\",\"fault\":{f}}}\n")
        };
        let text = [
            line("00:00", "null"),
            line("00:30", "\"door_open\""),
            line("01:00", "\"door_open\""),
            line("01:30", "null"),
            "garbage\n".to_string(),
        ]
        .concat();
        std::fs::write(&path, text).unwrap();
        let (l, skipped) = Labels::read(path.to_str().unwrap(), &TimeParser::new(None)).unwrap();
        assert_eq!(skipped, 1);
        let ms = |m: i64, s: i64| 1_793_491_200_000 + (m * 60 + s) * 1000;
        assert_eq!(l.during("A", ms(0, 0), ms(1, 0)), Some("door_open"));
        assert_eq!(l.during("A", ms(1, 0), ms(2, 0)), Some("door_open"));
        assert_eq!(l.during("A", ms(2, 0), ms(3, 0)), None);
        assert_eq!(l.during("B", ms(0, 0), ms(3, 0)), None);
    }
}
