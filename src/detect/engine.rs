//! Per-container state in event time and the episode lifecycle shared by
//! every rule: a condition must hold `for` a duration over `min_readings`
//! observations before one `open` event; a critical turn gives one
//! `escalated` event; the condition must be clear for `clear_for` before one
//! `resolved` event. Memory is one fixed-size record per container.
//!
//! A fault open for one reason does not hide a different anomaly of the same
//! kind: a rule names the form it found (a gas sensor stuck, drifting, noisy,
//! above air or shifted from its own level), and a form new to an open
//! episode escalates it to critical, once, with the new evidence (the event's
//! evidence lists every form seen). One episode stays one alert downstream
//! (reefer-act keys alerts by container and fault) and people hear of the
//! second anomaly: an escalation is always announced. A channel that fails in
//! two ways at once is not a passing glitch, and a CA controller steers the
//! atmosphere by it.

pub use super::band::{Band, DEFAULT_HALF_BAND, PLAUSIBLE_HIGH, PLAUSIBLE_LOW};
use super::events::{FaultEvent, Severity, Status};
pub use super::history::{GasHistory, GasTrend, History, GAS_BINS, GAS_BIN_MS, GAS_RING};
use super::obs::Obs;
use super::rules::{Ctx, Rule, Timing, Verdict};
use super::text::Text;
use crate::catalog::Product;

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct Track {
    cond_since: Option<i64>,
    count: u32,
    open: Option<(i64, Severity)>,
    clear_since: Option<i64>,
    clear_count: u32,
    /// The forms of the fault the open episode has shown (bits of [`Verdict::Fault::form`]).
    forms: u8,
}

struct ContainerState {
    product_id: Text,
    target: Option<f64>,
    band: Band,
    hist: History,
    /// Index of the container's segment (its product) in [`Engine::peers`].
    segment: u32,
}

/// What `--state` keeps of one container between runs. The band is not kept:
/// it is resolved again from the catalog of the run that loads it.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedContainer {
    id: Box<str>,
    product_id: Box<str>,
    target: Option<f64>,
    hist: History,
    /// Episode tracks by rule name, so that a rules file that gains, loses or
    /// reorders rules between runs keeps the tracks of the rules it still has.
    tracks: Vec<(String, Track)>,
}

/// Everything an [`Engine`] knows at the end of a run (`--state`).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Saved {
    containers: Vec<SavedContainer>,
    observed: u64,
    judged: Vec<String>,
    /// The fleet segments' gas noise, by product id (so that N runs judge as one).
    #[serde(default)]
    peers: Vec<(String, super::history::PeerNoise)>,
}

/// Format of [`Saved`] in a state file: bump it when these structures change.
pub const STATE_VERSION: u32 = 4;

/// What became of an observation the engine accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    Used,
    /// The container already had a reading at this time: dropped, counted.
    Duplicate,
}

/// Why an observation was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObserveError {
    #[error("reading of {container} at {at} is not later than its previous one at {previous} (input must be in event-time order per container)")]
    OutOfOrder {
        container: String,
        at: String,
        previous: String,
    },
}

const NONE: u32 = u32::MAX;

/// The slot of a container the engine has not seen yet ([`Engine::known`]).
pub const NO_SLOT: u32 = NONE;

/// The order a fleet's containers come in: per slot, the slot of the
/// container that came after it last time. A fleet reports in the same order
/// step after step, so the next container is mostly that one, which a compare
/// with its packed id confirms without probing the hash table.
struct Chain {
    next: Vec<u32>,
    /// The slot that came last.
    last: u32,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            next: Vec::new(),
            last: NONE,
        }
    }

    /// `container`'s slot: the one that came after the last one last time,
    /// when it is that container, else the index's; `None` when new.
    #[inline]
    fn find(&self, container: &str, ids: &[Text], index: &FxMap<Text, u32>) -> Option<u32> {
        let hint = self.next.get(self.last as usize).map_or(NONE, |&n| n);
        match ids.get(hint as usize) {
            Some(id) if id.as_str() == container => Some(hint),
            _ => index.get(container).copied(),
        }
    }

    /// Slot `i` came next.
    #[inline]
    fn step(&mut self, i: u32) {
        if self.next.len() <= i as usize {
            self.next.resize(i as usize + 1, NONE);
        }
        if let Some(prev) = self.next.get_mut(self.last as usize) {
            *prev = i;
        }
        self.last = i;
    }

    fn clear(&mut self) {
        self.next.clear();
        self.last = NONE;
    }
}

/// Container ids are short keys: rustc's Fx hash is several times cheaper than SipHash.
pub type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// A rule as configured: the rule, its timing and severity overrides.
pub struct Slot {
    pub rule: Box<dyn Rule>,
    pub timing: Timing,
    pub severity: Option<Severity>,
}

/// Runs every rule over a stream of observations.
pub struct Engine {
    slots: Vec<Slot>,
    catalog: Vec<Product>,
    states: Vec<ContainerState>,
    /// Each state's `hist.last_t`, packed: asked for every reading as it
    /// arrives ([`Engine::known`], the `--lateness` check), a minute before
    /// the reading is judged, when its container's state is out of the cache.
    last_ts: Vec<i64>,
    /// Each state's container id, packed (for the chains' compares, away
    /// from the 2 KB states).
    ids: Vec<Text>,
    /// The order readings arrive in ([`Engine::known_in_order`]) and are
    /// judged in ([`Engine::observe`]); they differ under `--lateness`.
    arrival: Chain,
    judging: Chain,
    index: FxMap<Text, u32>,
    /// Every container's episode tracks, one per rule slot, container by
    /// container (`states[i]`'s are `tracks[i * slots.len()..]`).
    tracks: Vec<Track>,
    /// Observations skipped because a product is unknown and has no setpoint.
    pub unknown_products: u64,
    /// Observations dropped because their container had one at that time.
    pub duplicates: u64,
    /// New sessions started because a container's time went back.
    pub sessions: u64,
    /// Per rule: it judged at least one observation (did not only hold).
    judged: Vec<bool>,
    observed: u64,
    /// This run's observations per optional field, with and without it.
    presence: super::obs::Presence,
    /// Implausible values per channel (kept as data, see [`super::obs::IMPLAUSIBLE`]).
    pub implausible: super::obs::Implausible,
    /// The gas channels' noise per fleet segment (product), and the segments by product id.
    peers: Vec<super::history::PeerNoise>,
    segments: FxMap<Box<str>, u32>,
    /// The slots of the rules that judge a gas sensor, with their channel.
    gas_slots: Vec<(usize, super::history::Gas)>,
    /// The slot of the door_open rule: a door it finds without a switch is a
    /// door for the gas rules too (they hold and settle after one).
    door_slot: Option<usize>,
}

impl Engine {
    pub fn new(slots: Vec<Slot>, catalog: Vec<Product>) -> Engine {
        let n_slots = slots.len();
        let gas_slots = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.rule.gas()?)))
            .collect();
        let door_slot = slots.iter().position(|s| s.rule.name() == "door_open");
        Engine {
            slots,
            catalog,
            states: Vec::new(),
            last_ts: Vec::new(),
            ids: Vec::new(),
            arrival: Chain::new(),
            judging: Chain::new(),
            index: FxMap::default(),
            tracks: Vec::new(),
            unknown_products: 0,
            duplicates: 0,
            sessions: 0,
            judged: vec![false; n_slots],
            observed: 0,
            presence: Default::default(),
            implausible: Default::default(),
            peers: Vec::new(),
            segments: FxMap::default(),
            gas_slots,
            door_slot,
        }
    }

    /// Observations used so far (this run and the runs a state came from).
    pub fn observed(&self) -> u64 {
        self.observed
    }

    /// Time of the container's last judged observation, if it has one.
    pub fn last_time(&self, container: &str) -> Option<i64> {
        self.known(container).1
    }

    /// The container's slot ([`NO_SLOT`]: not seen yet) and the time of its
    /// last judged observation.
    pub fn known(&self, container: &str) -> (u32, Option<i64>) {
        match self.index.get(container) {
            Some(&i) => (i, self.last_ts.get(i as usize).copied()),
            None => (NONE, None),
        }
    }

    /// [`Engine::known`] for the readings as they arrive (the `--lateness`
    /// check, a minute before they are judged): the container that came after
    /// the previous one last time is tried first (a fleet reports in the same
    /// order step after step), then the hash table. The hash probe per
    /// reading was 4 % of reefer-detect's CPU, all on the judging thread.
    pub fn known_in_order(&mut self, container: &str) -> (u32, Option<i64>) {
        let Some(i) = self.arrival.find(container, &self.ids, &self.index) else {
            return (NONE, None);
        };
        self.arrival.step(i);
        (i, self.last_ts.get(i as usize).copied())
    }

    /// Asks the CPU to bring slot `i`'s state and tracks into the cache
    /// (nothing for [`NO_SLOT`]), a few readings before it is judged: a fleet's states do
    /// not fit in the cache, and consecutive readings are of different
    /// containers.
    #[inline]
    pub fn prefetch(&self, i: u32) {
        if let Some(s) = self.states.get(i as usize) {
            prefetch(s, std::mem::size_of::<ContainerState>());
            let n = self.slots.len();
            if let Some(t) = self.tracks.get(i as usize * n..(i as usize + 1) * n) {
                prefetch(t.as_ptr(), std::mem::size_of_val(t));
            }
        }
    }

    pub fn containers(&self) -> usize {
        self.states.len()
    }

    /// The note on optional fields that some of this run's observations
    /// carried and others lacked (see [`super::obs::Presence`]).
    pub fn fields_without_value(&self) -> Option<String> {
        self.presence.note()
    }

    /// Rules that never judged any of at least 200 observations, with the
    /// fields they need: most likely the input lacks those fields.
    pub fn idle_rules(&self) -> Vec<(String, &'static str)> {
        // Rules need some history (a gas line fit, 30 readings) before they judge.
        if self.observed < 200 {
            return Vec::new();
        }
        self.slots
            .iter()
            .zip(&self.judged)
            .filter(|(_, j)| !**j)
            .map(|(s, _)| (s.rule.name().to_string(), s.rule.needs()))
            .collect()
    }

    /// Starts a new session for a container whose time went back (a replay of
    /// captured data): its history and episode tracks start over; an episode
    /// the old session had open is left without a resolved event (its data
    /// ended). Returns the time of the old session's last reading.
    pub fn new_session(&mut self, container: &str) -> Option<i64> {
        let i = *self.index.get(container)?;
        let st = self.states.get_mut(i as usize)?;
        let last = st.hist.last_t;
        st.hist = History::default();
        self.last_ts[i as usize] = st.hist.last_t;
        let n = self.slots.len();
        self.tracks[i as usize * n..][..n].fill(Track::default());
        self.sessions += 1;
        Some(last)
    }

    /// Forgets every container (between independent inputs in `--evaluate`).
    pub fn reset(&mut self) {
        self.states.clear();
        self.tracks.clear();
        self.last_ts.clear();
        self.ids.clear();
        self.arrival.clear();
        self.judging.clear();
        self.index.clear();
        self.peers.clear();
        self.segments.clear();
    }

    /// What this engine knows, for the next run (`--state`).
    pub fn save(&self) -> Saved {
        let names: Vec<&str> = self.slots.iter().map(|s| s.rule.name()).collect();
        Saved {
            containers: self
                .states
                .iter()
                .enumerate()
                .map(|(i, st)| SavedContainer {
                    id: self.ids[i].as_str().into(),
                    product_id: st.product_id.as_str().into(),
                    target: st.target,
                    hist: st.hist.clone(),
                    tracks: names
                        .iter()
                        .zip(&self.tracks[i * names.len()..][..names.len()])
                        .map(|(n, t)| (n.to_string(), *t))
                        .collect(),
                })
                .collect(),
            observed: self.observed,
            peers: self
                .segments
                .iter()
                .map(|(id, &i)| (id.to_string(), self.peers[i as usize]))
                .collect(),
            judged: names
                .iter()
                .zip(&self.judged)
                .filter(|(_, j)| **j)
                .map(|(n, _)| n.to_string())
                .collect(),
        }
    }

    /// Takes up where a previous run's [`Engine::save`] left off. A rule the
    /// previous run did not have starts with no episode; one it had and this
    /// run lacks is dropped (its open episode is never resolved: say so).
    pub fn restore(&mut self, saved: Saved) -> Vec<String> {
        let names: Vec<String> = self
            .slots
            .iter()
            .map(|s| s.rule.name().to_string())
            .collect();
        let mut dropped: Vec<String> = Vec::new();
        self.reset();
        for c in saved.containers {
            let mut tracks = vec![Track::default(); names.len()];
            for (name, track) in c.tracks {
                match names.iter().position(|n| *n == name) {
                    Some(i) => tracks[i] = track,
                    None if track.open.is_some() && !dropped.contains(&name) => dropped.push(name),
                    None => {}
                }
            }
            let i = self.states.len() as u32;
            self.index.insert(Text::new(&c.id), i);
            self.last_ts.push(c.hist.last_t);
            self.ids.push(Text::new(&c.id));
            self.tracks.extend(tracks);
            self.states.push(ContainerState {
                band: Band::resolve(&self.catalog, &c.product_id, c.target),
                product_id: Text::new(&c.product_id),
                target: c.target,
                hist: c.hist,
                segment: NONE,
            });
        }
        self.observed = saved.observed;
        self.peers.clear();
        self.segments.clear();
        for (id, noise) in saved.peers {
            self.segments.insert(id.into(), self.peers.len() as u32);
            self.peers.push(noise);
        }
        for (name, judged) in names.iter().zip(self.judged.iter_mut()) {
            *judged = saved.judged.iter().any(|n| n == name);
        }
        dropped
    }

    fn locate(&mut self, o: &Obs) -> usize {
        let idx = match self.judging.find(o.container_id, &self.ids, &self.index) {
            Some(i) => i,
            None => {
                let i = self.states.len() as u32;
                let hist = History::default();
                self.last_ts.push(hist.last_t);
                self.ids.push(Text::new(o.container_id));
                self.states.push(ContainerState {
                    product_id: Text::new(o.product_id),
                    target: o.target,
                    band: Band::resolve(&self.catalog, o.product_id, o.target),
                    hist,
                    segment: NONE,
                });
                self.index.insert(Text::new(o.container_id), i);
                let n = self.slots.len();
                self.tracks.resize(self.tracks.len() + n, Track::default());
                i
            }
        };
        self.judging.step(idx);
        idx as usize
    }

    /// Feeds one observation; events go to `emit`. `Err` means the observation
    /// is older than the container's previous one and was not used.
    pub fn observe(
        &mut self,
        o: &Obs,
        mut emit: impl FnMut(FaultEvent),
    ) -> Result<Observed, ObserveError> {
        let i = self.locate(o);
        let st = &mut self.states[i];
        let n = self.slots.len();
        let tracks = &mut self.tracks[i * n..][..n];
        if o.t_ms == st.hist.last_t {
            // A resend (a modem that missed its acknowledgement) or a replay
            // that overlaps: the container's reading at this time was used.
            self.duplicates += 1;
            return Ok(Observed::Duplicate);
        }
        if o.t_ms < st.hist.last_t {
            return Err(ObserveError::OutOfOrder {
                container: o.container_id.to_string(),
                at: crate::time::format_millis(o.t_ms),
                previous: crate::time::format_millis(st.hist.last_t),
            });
        }
        if st.product_id.as_str() != o.product_id || st.target != o.target || st.segment == NONE {
            st.band = Band::resolve(&self.catalog, o.product_id, o.target);
            st.product_id = Text::new(o.product_id);
            st.target = o.target;
            let next = self.peers.len() as u32;
            st.segment = *self.segments.entry(o.product_id.into()).or_insert(next);
            if st.segment == next {
                self.peers.push(Default::default());
            }
        }
        if !st.band.known {
            self.unknown_products += 1;
        }
        for &(i, gas) in &self.gas_slots {
            let tr = &tracks[i];
            st.hist.gas_mut(gas).level.suspect =
                tr.open.is_some() && super::rules::gas::suspect(tr.forms);
        }
        st.hist.update(o, &st.band);
        self.last_ts[i] = st.hist.last_t;
        let peers = &mut self.peers[st.segment as usize];
        if st.hist.gas_as_readings(o) {
            peers.learn(
                o.oxygen.and(st.hist.o2.last_diff()),
                o.co2.and(st.hist.co2.last_diff()),
            );
        } else if let Some(row) = o.row {
            let spread = |span: Option<(f64, f64)>| span.map(|(lo, hi)| hi - lo);
            peers.learn_row(row.count, spread(row.o2_span), spread(row.co2_span));
        }
        let peer_noise = peers.sigma();
        self.observed += 1;
        self.presence.count(o);
        self.implausible.count(o);
        for ((slot, track), judged) in self
            .slots
            .iter()
            .zip(tracks.iter_mut())
            .zip(self.judged.iter_mut())
        {
            let ctx = Ctx {
                obs: o,
                hist: &st.hist,
                band: &st.band,
                cond_since: track.cond_since,
                open: track.open.is_some(),
                forms: track.forms,
                peer_noise,
            };
            let verdict = slot.rule.check(&ctx);
            *judged |= verdict != Verdict::Hold;
            step(slot, track, &ctx, verdict, &mut emit);
        }
        if self.door_slot.is_some_and(|d| tracks[d].open.is_some()) {
            st.hist.last_door = st.hist.last_door.max(o.t_ms);
        }
        Ok(Observed::Used)
    }
}

/// Prefetches `bytes` from `p`, a cache line at a time (x86-64; elsewhere nothing).
#[inline]
fn prefetch<T>(p: *const T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = p.cast::<i8>();
        let mut off = 0;
        while off < bytes {
            // SAFETY: a prefetch is a hint; it never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

fn step(
    slot: &Slot,
    tr: &mut Track,
    ctx: &Ctx,
    verdict: Verdict,
    emit: &mut impl FnMut(FaultEvent),
) {
    let t = ctx.obs.t_ms;
    let timing = &slot.timing;
    match verdict {
        Verdict::Fault {
            severity,
            since,
            immediate,
            form,
        } => {
            tr.clear_since = None;
            tr.clear_count = 0;
            let start = since.unwrap_or(ctx.obs.from_ms);
            let cond_since = *tr.cond_since.get_or_insert(start);
            tr.count = tr.count.saturating_add(1);
            let severity = slot.severity.map_or(severity, |s| s.max(severity));
            match tr.open {
                None => {
                    let held = t - cond_since >= timing.for_ms && tr.count >= timing.min_readings;
                    let urgent = immediate && tr.count >= timing.min_readings.min(2);
                    if held || urgent {
                        tr.open = Some((cond_since, severity));
                        tr.forms = form;
                        let ctx = Ctx {
                            forms: form,
                            ..*ctx
                        };
                        emit(event(slot, &ctx, Status::Open, severity, cond_since));
                    }
                }
                Some((since, old)) => {
                    // A second form of the fault: critical, whatever the rule said.
                    let new_form = form & !tr.forms != 0 && tr.forms != 0;
                    tr.forms |= form;
                    let severity = if new_form {
                        Severity::Critical
                    } else {
                        severity
                    };
                    if severity > old {
                        tr.open = Some((since, severity));
                        let ctx = Ctx {
                            forms: tr.forms,
                            ..*ctx
                        };
                        emit(event(slot, &ctx, Status::Escalated, severity, since));
                    }
                }
            }
        }
        Verdict::Clear => {
            tr.cond_since = None;
            tr.count = 0;
            if let Some((since, severity)) = tr.open {
                let cs = *tr.clear_since.get_or_insert(t);
                tr.clear_count += 1;
                if t - cs >= timing.clear_ms && tr.clear_count >= timing.clear_readings {
                    tr.open = None;
                    tr.forms = 0;
                    tr.clear_since = None;
                    tr.clear_count = 0;
                    emit(event(slot, ctx, Status::Resolved, severity, since));
                }
            }
        }
        Verdict::Hold => {}
    }
}

fn event(slot: &Slot, ctx: &Ctx, status: Status, severity: Severity, since: i64) -> FaultEvent {
    let (evidence, message) = slot.rule.describe(ctx);
    let message = match status {
        Status::Open => message,
        Status::Escalated => format!("now critical: {message}"),
        Status::Resolved => format!(
            "resolved after {}: {} is back to normal",
            crate::time::Span::from_millis((ctx.obs.t_ms - since).max(0) / 1000 * 1000),
            slot.rule.fault().replace('_', " ")
        ),
    };
    FaultEvent {
        status,
        container_id: ctx.obs.container_id.to_string(),
        product_id: Some(ctx.obs.product_id.to_string()),
        fault: slot.rule.fault().to_string(),
        severity,
        rule: Some(slot.rule.name().to_string()),
        detected_at_ms: ctx.obs.t_ms,
        since_ms: since,
        evidence: serde_json::Value::Object(evidence),
        message: Some(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(id: &str, t_ms: i64) -> Obs<'_> {
        Obs {
            container_id: id,
            product_id: "P01",
            t_ms,
            from_ms: t_ms,
            temperature: 2.0,
            temp_min: 2.0,
            temp_max: 2.0,
            ..Obs::default()
        }
    }

    /// The packed last times answer as the states do, through every change.
    #[test]
    fn known_last_times_follow_observations_sessions_and_state_files() {
        let slots = || super::super::config::load_rules(None).unwrap();
        let mut e = Engine::new(slots(), crate::catalog::default_catalog());
        let agree = |e: &Engine| {
            for (i, st) in e.states.iter().enumerate() {
                assert_eq!(e.known(e.ids[i].as_str()), (i as u32, Some(st.hist.last_t)));
            }
            assert_eq!(e.tracks.len(), e.states.len() * e.slots.len());
        };
        assert_eq!(e.known("A"), (NO_SLOT, None));
        for t in [0, 10_000, 20_000] {
            for id in ["A", "B", "C"] {
                e.observe(&obs(id, t), |_| {}).unwrap();
            }
        }
        agree(&e);
        assert_eq!(e.last_time("B"), Some(20_000));
        assert_eq!(e.new_session("B"), Some(20_000));
        assert_eq!(e.last_time("B"), Some(i64::MIN));
        agree(&e);
        e.observe(&obs("B", 5_000), |_| {}).unwrap();
        // As the state file keeps it (postcard: the state holds NaN).
        let saved = postcard::to_stdvec(&e.save()).unwrap();
        let mut back = Engine::new(slots(), crate::catalog::default_catalog());
        back.restore(postcard::from_bytes(&saved).unwrap());
        agree(&back);
        assert_eq!(back.last_time("B"), Some(5_000));
        assert_eq!(postcard::to_stdvec(&back.save()).unwrap(), saved);
        back.reset();
        assert_eq!(back.known("A"), (NO_SLOT, None));
        agree(&back);
    }

    /// The arrival-order walk gives what the hash table gives, whatever the
    /// order: a fleet in its usual order, one that changes it, a newcomer,
    /// a container asked for twice, after a state file and after a reset.
    #[test]
    fn known_in_order_agrees_with_the_hash_table_in_any_order() {
        let slots = || super::super::config::load_rules(None).unwrap();
        let mut e = Engine::new(slots(), crate::catalog::default_catalog());
        let check = |e: &mut Engine, ids: &[&str]| {
            for id in ids {
                let want = e.known(id);
                assert_eq!(e.known_in_order(id), want, "{id}");
            }
        };
        check(&mut e, &["A", "B"]);
        for (step, ids) in [
            ["A", "B", "C", "D"],
            ["A", "B", "C", "D"],
            ["B", "A", "D", "C"],
            ["A", "A", "E", "C"],
            ["D", "C", "B", "A"],
        ]
        .iter()
        .enumerate()
        {
            check(&mut e, ids);
            for id in ids {
                let _ = e.observe(&obs(id, step as i64 * 10_000), |_| {});
            }
            check(&mut e, ids);
        }
        let saved = postcard::to_stdvec(&e.save()).unwrap();
        let mut back = Engine::new(slots(), crate::catalog::default_catalog());
        back.restore(postcard::from_bytes(&saved).unwrap());
        check(&mut back, &["C", "A", "B", "E", "D", "X"]);
        back.reset();
        check(&mut back, &["A", "B"]);
        assert_eq!(back.known_in_order("A"), (NO_SLOT, None));
    }
}
