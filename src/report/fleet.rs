//! What the report knows about the fleet after reading its input: per
//! container a downsampled series and a few scalars, fault episodes from the
//! events, simulator label episodes, alerts, and fleet-wide counts. Its size
//! grows with the number of containers and episodes, never with the length of
//! the input.

use super::input::Telemetry;
use super::series::{Sample, Series};
use crate::act::store::Alert;
use crate::catalog::Product;
use crate::event::{FaultEvent, Severity, Status};
use rustc_hash::FxHashMap;

/// One container.
#[derive(Debug, Default)]
pub struct Container {
    pub id: Box<str>,
    pub product: Option<Box<str>>,
    /// Readings seen (a window row counts its `count`).
    pub readings: f64,
    pub in_band: f64,
    pub first_ms: i64,
    pub last_ms: i64,
    pub position: Option<(f32, f32)>,
    pub setpoint: Option<f32>,
    pub last_temp: Option<f32>,
    pub series: Series,
    /// The simulator label in force at the latest reading.
    label: Option<u16>,
}

/// A fault episode: from the events (`Detected`) or from the simulator's labels (`Truth`).
#[derive(Debug, Clone)]
pub struct Episode {
    pub container: u32,
    pub fault: u16,
    pub severity: Severity,
    pub since_ms: i64,
    pub detected_ms: i64,
    /// When it resolved (events) or the label ended (truth); `None` while open.
    pub end_ms: Option<i64>,
    pub message: Box<str>,
}

/// Per product: readings and readings in band.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProductStats {
    pub readings: f64,
    pub in_band: f64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub readings: u64,
    pub rows: u64,
    pub events: u64,
}

/// Everything read.
#[derive(Default)]
pub struct Fleet {
    pub containers: Vec<Container>,
    index: FxHashMap<Box<str>, u32>,
    /// Fault names, interned (episodes and labels keep an index).
    pub faults: Vec<Box<str>>,
    pub episodes: Vec<Episode>,
    /// Open episodes by (container, fault): the index into `episodes`.
    open: FxHashMap<(u32, u16), usize>,
    pub truth: Vec<Episode>,
    pub alerts: Vec<Alert>,
    pub products: std::collections::BTreeMap<Box<str>, ProductStats>,
    pub counts: Counts,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

impl Fleet {
    fn container(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.containers.len() as u32;
        self.containers.push(Container {
            id: id.into(),
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            ..Container::default()
        });
        self.index.insert(id.into(), i);
        i
    }

    fn fault(&mut self, name: &str) -> u16 {
        if let Some(i) = self.faults.iter().position(|f| &**f == name) {
            return i as u16;
        }
        self.faults.push(name.into());
        (self.faults.len() - 1) as u16
    }

    fn see_time(&mut self, t: i64) {
        self.first_ms = Some(self.first_ms.map_or(t, |f| f.min(t)));
        self.last_ms = Some(self.last_ms.map_or(t, |l| l.max(t)));
    }

    /// Adds a reading or a window row.
    pub fn add_telemetry(&mut self, t: &Telemetry, at_ms: i64, row: bool, catalog: &[Product]) {
        if row {
            self.counts.rows += 1;
        } else {
            self.counts.readings += 1;
        }
        self.see_time(at_ms);
        let id = t.container_id.as_deref().unwrap_or_default();
        let ci = self.container(id);
        let weight = t.weight();
        let temp = t.temp();
        let product = t.product_id.as_deref();
        // During a defrost the heaters warm the supply air: judged on return air then.
        let supply = t.supply().filter(|_| !t.defrost.unwrap_or(false));
        let in_band = self.count_product(product, temp, supply, weight, catalog);
        let label = (!row).then(|| t.fault.as_deref().filter(|f| !f.is_empty()));
        let label = label.map(|l| l.map(|f| self.fault(f)));
        let c = &mut self.containers[ci as usize];
        c.readings += weight;
        c.in_band += in_band;
        c.first_ms = c.first_ms.min(at_ms);
        if at_ms >= c.last_ms {
            c.last_ms = at_ms;
            if let Some((lat, lon)) = t.position() {
                c.position = Some((lat as f32, lon as f32));
            }
            if let Some(v) = temp {
                c.last_temp = Some(v as f32);
            }
        }
        if let (None, Some(p)) = (&c.product, product) {
            c.product = Some(p.into());
        }
        if let Some(s) = t.setpoint() {
            c.setpoint = Some(s as f32);
        }
        let as_count = |b: Option<bool>, n: Option<f64>| match (b, n) {
            (Some(true), _) => 1,
            (_, Some(n)) if n > 0.0 => n.min(f64::from(u16::MAX)) as u16,
            _ => 0,
        };
        let sample = Sample {
            weight: weight as f32,
            temp,
            temp_min: t.temperature_min,
            temp_max: t.temperature_max,
            supply: t.supply(),
            ambient: t.ambient(),
            kilowatts: t.kilowatts(),
            oxygen: t.oxygen(),
            carbon_dioxide: t.carbon_dioxide(),
            door: as_count(t.door_open, t.door_open_true),
            defrost: as_count(t.defrost, t.defrost_true),
        };
        c.series.add(at_ms, &sample);
        if let Some(label) = label {
            self.relabel(ci, label, at_ms);
        }
    }

    /// Counts `weight` readings of `product`; returns how many of them were in
    /// its band, judged on the air the unit controls as reefer-detect does
    /// (a row counts in band when its means are).
    fn count_product(
        &mut self,
        product: Option<&str>,
        temp: Option<f64>,
        supply: Option<f64>,
        weight: f64,
        catalog: &[Product],
    ) -> f64 {
        let in_band = match (product.and_then(|p| crate::catalog::find(catalog, p)), temp) {
            (Some(p), Some(v)) if p.controlled_in_band(v, supply) => weight,
            _ => 0.0,
        };
        if let Some(p) = product {
            let stats = match self.products.get_mut(p) {
                Some(s) => s,
                None => self.products.entry(p.into()).or_default(),
            };
            stats.readings += weight;
            stats.in_band += in_band;
        }
        in_band
    }

    /// Follows the simulator's `fault` label: a change opens or closes a truth episode.
    fn relabel(&mut self, ci: u32, label: Option<u16>, at_ms: i64) {
        let c = &mut self.containers[ci as usize];
        if c.label == label {
            return;
        }
        let before = c.label;
        c.label = label;
        if let Some(prev) = before {
            if let Some(e) = self
                .truth
                .iter_mut()
                .rev()
                .find(|e| e.container == ci && e.fault == prev && e.end_ms.is_none())
            {
                e.end_ms = Some(at_ms);
            }
        }
        if let Some(kind) = label {
            self.truth.push(Episode {
                container: ci,
                fault: kind,
                severity: Severity::Warning,
                since_ms: at_ms,
                detected_ms: at_ms,
                end_ms: None,
                message: "".into(),
            });
        }
    }

    /// Adds a fault event: an open event starts an episode (a repeat of an
    /// open one updates it), a resolved event ends it.
    pub fn add_event(&mut self, e: &FaultEvent) {
        self.counts.events += 1;
        self.see_time(e.detected_at_ms);
        let ci = self.container(&e.container_id);
        if let (None, Some(p)) = (&self.containers[ci as usize].product, &e.product_id) {
            self.containers[ci as usize].product = Some(p.as_str().into());
        }
        let fi = self.fault(&e.fault);
        let message: Box<str> = e.message.as_deref().unwrap_or_default().into();
        match (e.status, self.open.get(&(ci, fi)).copied()) {
            (Status::Resolved, Some(i)) => {
                self.episodes[i].end_ms = Some(e.detected_at_ms);
                self.open.remove(&(ci, fi));
            }
            (Status::Resolved, None) => self.episodes.push(Episode {
                container: ci,
                fault: fi,
                severity: e.severity,
                since_ms: e.since_ms,
                detected_ms: e.detected_at_ms,
                end_ms: Some(e.detected_at_ms),
                message,
            }),
            (_, Some(i)) => {
                let ep = &mut self.episodes[i];
                ep.severity = ep.severity.max(e.severity);
            }
            (_, None) => {
                self.open.insert((ci, fi), self.episodes.len());
                self.episodes.push(Episode {
                    container: ci,
                    fault: fi,
                    severity: e.severity,
                    since_ms: e.since_ms,
                    detected_ms: e.detected_at_ms,
                    end_ms: None,
                    message,
                });
            }
        }
    }

    pub fn add_alert(&mut self, a: Alert) {
        let ci = self.container(&a.container_id);
        if let (None, Some(p)) = (&self.containers[ci as usize].product, &a.product_id) {
            self.containers[ci as usize].product = Some(p.as_str().into());
        }
        self.fault(&a.fault);
        self.see_time(a.opened_at_ms);
        self.alerts.push(a);
    }

    /// Forgets what ended before `before_ms` (`--horizon`): containers last
    /// heard of earlier (unless an episode of theirs is still open), closed
    /// episodes and resolved alerts, and older buckets of every series.
    pub fn prune(&mut self, before_ms: i64) {
        let mut keep: Vec<bool> = self
            .containers
            .iter()
            .map(|c| c.last_ms >= before_ms)
            .collect();
        for e in self.episodes.iter().filter(|e| e.end_ms.is_none()) {
            keep[e.container as usize] = true;
        }
        let mut new_index = vec![u32::MAX; self.containers.len()];
        let old = std::mem::take(&mut self.containers);
        self.index.clear();
        for (i, mut c) in old.into_iter().enumerate() {
            if !keep[i] {
                continue;
            }
            c.series.drop_before(before_ms);
            new_index[i] = self.containers.len() as u32;
            self.index.insert(c.id.clone(), new_index[i]);
            self.containers.push(c);
        }
        let live = |e: &Episode| e.end_ms.is_none_or(|end| end >= before_ms);
        let remap = |list: &mut Vec<Episode>| {
            list.retain(|e| live(e) && new_index[e.container as usize] != u32::MAX);
            for e in list.iter_mut() {
                e.container = new_index[e.container as usize];
            }
        };
        remap(&mut self.episodes);
        remap(&mut self.truth);
        self.open.clear();
        for (i, e) in self.episodes.iter().enumerate() {
            if e.end_ms.is_none() {
                self.open.insert((e.container, e.fault), i);
            }
        }
        self.alerts
            .retain(|a| a.open || a.resolved_at_ms.is_none_or(|r| r >= before_ms));
        self.first_ms = self.first_ms.map(|f| f.max(before_ms));
    }

    pub fn container_index(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
    }

    /// A container's state at the end of the input: the worst open episode or
    /// alert, else "no data" when it fell silent (longer than `silent_ms`
    /// before the fleet's last record), else ok.
    /// An input of events alone says nothing about silence: no container is "no data" then.
    pub fn states(&self, silent_ms: i64) -> Vec<State> {
        let telemetry = self.counts.readings + self.counts.rows > 0;
        let mut states: Vec<State> = self
            .containers
            .iter()
            .map(|c| match self.last_ms {
                Some(last)
                    if telemetry && (c.last_ms == i64::MIN || last - c.last_ms > silent_ms) =>
                {
                    State::NoData
                }
                _ => State::Ok,
            })
            .collect();
        let mut worsen = |ci: usize, s: Severity| {
            let new = match s {
                Severity::Warning => State::Warning,
                Severity::Critical => State::Critical,
            };
            if states[ci] < new {
                states[ci] = new;
            }
        };
        for e in self.episodes.iter().filter(|e| e.end_ms.is_none()) {
            worsen(e.container as usize, e.severity);
        }
        for a in self.alerts.iter().filter(|a| a.open) {
            if let Some(ci) = self.container_index(&a.container_id) {
                worsen(ci as usize, a.severity);
            }
        }
        states
    }

    /// Detection delay per labelled episode: the first detected episode of the
    /// same container and fault that began within the label's span (or up to
    /// `tolerance_ms` after it), as (fault, delay in ms or `None` when missed).
    pub fn detection_delays(&self, tolerance_ms: i64) -> Vec<(u16, Option<i64>)> {
        let mut by_key: FxHashMap<(u32, u16), Vec<i64>> = FxHashMap::default();
        for e in &self.episodes {
            by_key
                .entry((e.container, e.fault))
                .or_default()
                .push(e.detected_ms);
        }
        self.truth
            .iter()
            .map(|t| {
                let end = t.end_ms.unwrap_or(i64::MAX).saturating_add(tolerance_ms);
                let delay = by_key.get(&(t.container, t.fault)).and_then(|ds| {
                    ds.iter()
                        .filter(|&&d| d >= t.since_ms && d <= end)
                        .min()
                        .map(|d| d - t.since_ms)
                });
                (t.fault, delay)
            })
            .collect()
    }
}

/// A container's colour on the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok,
    NoData,
    Warning,
    Critical,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::NoData => "no_data",
            State::Warning => "warning",
            State::Critical => "critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TimeParser;

    fn feed(fleet: &mut Fleet, line: &str) {
        let catalog = crate::catalog::default_catalog();
        match super::super::input::classify(line, None, &TimeParser::new(None)).unwrap() {
            super::super::input::Record::Telemetry { t, at_ms, row } => {
                fleet.add_telemetry(&t, at_ms, row, &catalog)
            }
            super::super::input::Record::Event(e) => fleet.add_event(&e),
        }
    }

    #[test]
    fn an_open_and_a_resolve_event_make_one_closed_episode() {
        let mut f = Fleet::default();
        feed(
            &mut f,
            r#"{"status":"open","container_id":"C1","fault":"power_off","severity":"warning","detected_at":"2026-11-27T01:00:00Z","since":"2026-11-27T00:50:00Z"}"#,
        );
        feed(
            &mut f,
            r#"{"status":"escalated","container_id":"C1","fault":"power_off","severity":"critical","detected_at":"2026-11-27T01:10:00Z","since":"2026-11-27T00:50:00Z"}"#,
        );
        assert_eq!(f.states(600_000), vec![State::Critical]);
        feed(
            &mut f,
            r#"{"status":"resolved","container_id":"C1","fault":"power_off","severity":"critical","detected_at":"2026-11-27T02:00:00Z","since":"2026-11-27T00:50:00Z"}"#,
        );
        assert_eq!(f.episodes.len(), 1);
        assert_eq!(f.episodes[0].severity, Severity::Critical);
        assert!(f.episodes[0].end_ms.is_some());
        assert_eq!(f.states(600_000), vec![State::Ok]);
    }

    #[test]
    fn pruning_forgets_silent_containers_and_closed_episodes_but_keeps_open_ones() {
        let mut f = Fleet::default();
        for (id, hour) in [("OLD", "00"), ("NEW", "05")] {
            feed(
                &mut f,
                &format!(
                    r#"{{"container_id":"{id}","measurement_time":"2026-11-27T{hour}:00:00Z","temperature":1.0}}"#
                ),
            );
        }
        feed(
            &mut f,
            r#"{"container_id":"OLD","fault":"door_open","detected_at":"2026-11-27T00:10:00Z"}"#,
        );
        feed(
            &mut f,
            r#"{"container_id":"NEW","fault":"power_off","detected_at":"2026-11-27T04:10:00Z"}"#,
        );
        feed(
            &mut f,
            r#"{"status":"resolved","container_id":"NEW","fault":"power_off","detected_at":"2026-11-27T04:20:00Z"}"#,
        );
        let cut = f.last_ms.unwrap() - 3 * 3_600_000;
        f.prune(cut);
        let ids: Vec<&str> = f.containers.iter().map(|c| &*c.id).collect();
        assert_eq!(ids, ["OLD", "NEW"], "OLD's door is still open");
        assert_eq!(f.episodes.len(), 2);
        feed(
            &mut f,
            r#"{"status":"resolved","container_id":"OLD","fault":"door_open","detected_at":"2026-11-27T05:00:00Z"}"#,
        );
        f.prune(f.last_ms.unwrap() - 30 * 60_000);
        let ids: Vec<&str> = f.containers.iter().map(|c| &*c.id).collect();
        assert_eq!(ids, ["NEW"]);
        assert_eq!(
            f.episodes.len(),
            0,
            "both episodes ended before the horizon"
        );
        assert_eq!(f.container_index("NEW"), Some(0));
    }

    #[test]
    fn labels_become_truth_episodes_and_give_detection_delays() {
        let mut f = Fleet::default();
        for (min, label) in [
            (0, "null"),
            (10, "\"door_open\""),
            (20, "\"door_open\""),
            (30, "null"),
        ] {
            feed(
                &mut f,
                &format!(
                    r#"{{"container_id":"C1","product_id":"P01","measurement_time":"2026-11-27T00:{min:02}:00Z","temperature":1.0,"fault":{label}}}"#
                ),
            );
        }
        feed(
            &mut f,
            r#"{"container_id":"C1","fault":"door_open","detected_at":"2026-11-27T00:12:00Z","since":"2026-11-27T00:10:00Z"}"#,
        );
        assert_eq!(f.truth.len(), 1);
        assert_eq!(f.detection_delays(0), vec![(0, Some(120_000))]);
        assert_eq!(f.products["P01"].in_band, 4.0);
    }
}
