//! The page: one HTML file with its style, script, data and map inline.
//!
//! The data goes in as one JSON object in a `<script type="application/json">`
//! (compact arrays, series as base64 i16, see [`super::series::encode`]); the
//! page's own script (`page.js`, ~20 KB) draws it with SVG and one canvas. A
//! Content-Security-Policy of `default-src 'none'` makes any network request
//! a refused one: the page opens the same offline, from a mail or a ticket.

use super::fleet::Fleet;
use super::series::{encode, CHANNELS, MAX_BUCKETS};
use crate::act::store::Alert;
use crate::catalog::Product;
use serde_json::{json, Value};
use std::io::{self, Write};

/// Natural Earth 1:110m land, one ring a line (see the file's header).
pub const LAND: &str = include_str!("land.txt");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// Characters one bucket of one channel costs in the page (an i16 in base64).
const CHARS_PER_VALUE: f64 = 8.0 / 3.0;

/// How many times the points of a quiet container a container with an
/// episode or alert gets: those are the drill-downs people open.
const FAULTY_SHARE: usize = 4;

pub struct Page<'a> {
    pub title: &'a str,
    pub budget_bytes: usize,
    pub silent_ms: i64,
    pub catalog: &'a [Product],
    /// Served by `--serve`: the page asks its server for updates.
    pub live: bool,
}

/// Counts bytes written, for the summary and `--stats-json`.
struct Counted<'w, W: Write> {
    inner: &'w mut W,
    n: usize,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Page<'_> {
    /// Writes the page; returns its size in bytes.
    pub fn write(&self, fleet: &Fleet, out: &mut impl Write) -> io::Result<usize> {
        let mut out = Counted { inner: out, n: 0 };
        let data = self.data_json(fleet)?;
        // Only a live page may talk to its own server, and only for updates.
        let connect = if self.live {
            "; connect-src 'self'"
        } else {
            ""
        };
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:{connect}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
            escape(self.title)
        )?;
        out.write_all(BODY.as_bytes())?;
        out.write_all(b"<script id=\"data\" type=\"application/json\">")?;
        out.write_all(data.as_bytes())?;
        out.write_all(b"</script>\n<script>\n")?;
        out.write_all(SCRIPT.as_bytes())?;
        out.write_all(b"</script>\n</body>\n</html>\n")?;
        out.flush()?;
        Ok(out.n)
    }

    /// The page's data as JSON, safe inside a script element: every `<` is
    /// written `\u003c`, so no `</script>` ends it and no `<!--` changes how
    /// the HTML parser reads it, whatever a record's values hold.
    pub fn data_json(&self, fleet: &Fleet) -> io::Result<String> {
        Ok(serde_json::to_string(&self.data(fleet))?.replace('<', "\\u003c"))
    }

    /// Points per series: quiet containers share what the budget leaves after
    /// everything else; containers with an episode get [`FAULTY_SHARE`] times more.
    fn points(&self, fleet: &Fleet, faulty: &[bool]) -> (usize, usize) {
        let n_faulty = faulty.iter().filter(|f| **f).count();
        let n_quiet = faulty.len() - n_faulty;
        // Everything but the series: ~160 bytes a container, ~200 an episode or alert.
        let fixed = 100_000
            + SCRIPT.len()
            + LAND.len()
            + 160 * fleet.containers.len()
            + 200 * (fleet.episodes.len() + fleet.alerts.len() + fleet.truth.len());
        let left = self.budget_bytes.saturating_sub(fixed) as f64;
        let per_point = CHANNELS.len() as f64 * CHARS_PER_VALUE;
        let shares = (n_quiet + FAULTY_SHARE * n_faulty).max(1) as f64;
        let p = (left / per_point / shares) as usize;
        let quiet = p.clamp(12, MAX_BUCKETS);
        (quiet, (p * FAULTY_SHARE).clamp(12, MAX_BUCKETS))
    }

    fn data(&self, fleet: &Fleet) -> Value {
        let containers = self.containers(fleet);
        let episodes: Vec<Value> = fleet
            .episodes
            .iter()
            .map(|e| {
                json!([
                    e.container,
                    e.fault,
                    e.severity.name(),
                    e.since_ms,
                    e.detected_ms,
                    e.end_ms,
                    e.message
                ])
            })
            .collect();
        let truth: Vec<Value> = fleet
            .truth
            .iter()
            .map(|e| json!([e.container, e.fault, e.since_ms, e.end_ms]))
            .collect();
        let alerts: Vec<Value> = fleet.alerts.iter().map(|a| alert_json(fleet, a)).collect();
        json!({
            "title": self.title,
            "live": self.live,
            "from": fleet.first_ms,
            "to": fleet.last_ms,
            "counts": {
                "containers": fleet.containers.len(),
                "readings": fleet.counts.readings,
                "rows": fleet.counts.rows,
                "events": fleet.counts.events,
                "episodes": fleet.episodes.len(),
                "alerts": fleet.alerts.len(),
                "positions": fleet.containers.iter().filter(|c| c.position.is_some()).count(),
            },
            "channels": CHANNELS.iter().map(|c| json!([c.0, c.1])).collect::<Vec<_>>(),
            "faults": fleet.faults,
            "products": self.products(fleet),
            "containers": containers,
            "episodes": episodes,
            "truth": truth,
            "alerts": alerts,
            "delays": delays(fleet),
            "land": LAND,
        })
    }

    /// Every container as one array (see docs/report.md), its series reduced to its share of the budget.
    fn containers(&self, fleet: &Fleet) -> Vec<Value> {
        let mut faulty = vec![false; fleet.containers.len()];
        for e in fleet.episodes.iter().chain(&fleet.truth) {
            faulty[e.container as usize] = true;
        }
        for a in &fleet.alerts {
            if let Some(ci) = fleet.container_index(&a.container_id) {
                faulty[ci as usize] = true;
            }
        }
        let (quiet_points, faulty_points) = self.points(fleet, &faulty);
        let states = fleet.states(self.silent_ms);
        fleet
            .containers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let points = if faulty[i] {
                    faulty_points
                } else {
                    quiet_points
                };
                let s = c.series.reduced(points);
                let (mask, b64) = encode(&s);
                json!([
                    c.id,
                    c.product,
                    c.position.map(|p| round2(p.0)),
                    c.position.map(|p| round2(p.1)),
                    states[i].name(),
                    c.readings.round(),
                    c.in_band.round(),
                    (c.last_ms != i64::MIN).then_some(c.last_ms),
                    c.setpoint.map(|v| f64::from((v * 10.0).round()) / 10.0),
                    c.last_temp.map(|v| f64::from((v * 10.0).round()) / 10.0),
                    s.start_ms,
                    s.width_ms,
                    s.buckets.len(),
                    mask,
                    b64,
                ])
            })
            .collect()
    }

    fn products(&self, fleet: &Fleet) -> Value {
        let mut out: Vec<Value> = fleet
            .products
            .iter()
            .map(|(id, s)| {
                let p = crate::catalog::find(self.catalog, id);
                json!([
                    id,
                    p.map(|p| p.name.as_str()),
                    s.readings.round(),
                    s.in_band.round(),
                    p.map(|p| p.setpoint),
                    p.and_then(|p| p.band_low),
                    p.map(|p| p.band_high),
                ])
            })
            .collect();
        // The catalog's bands for drill-downs of containers whose product has no stats here.
        let known: Vec<&str> = fleet.products.keys().map(|k| &**k).collect();
        for p in self
            .catalog
            .iter()
            .filter(|p| !known.contains(&p.id.as_str()))
        {
            out.push(json!([
                p.id,
                p.name,
                0,
                0,
                p.setpoint,
                p.band_low,
                p.band_high
            ]));
        }
        Value::Array(out)
    }
}

fn alert_json(fleet: &Fleet, a: &Alert) -> Value {
    json!([
        a.id,
        fleet.container_index(&a.container_id),
        fleet.faults.iter().position(|f| **f == *a.fault),
        a.severity.name(),
        a.open,
        a.since_ms,
        a.opened_at_ms,
        a.resolved_at_ms,
        a.event_count,
        a.message,
    ])
}

/// Per fault kind: labelled episodes, detected, median and 90th-percentile delay (ms).
fn delays(fleet: &Fleet) -> Value {
    let all = fleet.detection_delays(5 * 60_000);
    let mut out = Vec::new();
    for (fi, name) in fleet.faults.iter().enumerate() {
        let of: Vec<Option<i64>> = all
            .iter()
            .filter(|(f, _)| usize::from(*f) == fi)
            .map(|(_, d)| *d)
            .collect();
        if of.is_empty() {
            continue;
        }
        let mut found: Vec<i64> = of.iter().flatten().copied().collect();
        found.sort_unstable();
        let pct = |q: f64| -> Option<i64> {
            (!found.is_empty()).then(|| found[((found.len() - 1) as f64 * q).round() as usize])
        };
        out.push(json!([name, of.len(), found.len(), pct(0.5), pct(0.9)]));
    }
    Value::Array(out)
}

fn round2(v: f32) -> f64 {
    (f64::from(v) * 100.0).round() / 100.0
}

/// HTML text escaping for the title.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page's skeleton; the script fills it.
const BODY: &str = r#"<header><h1 id="title"></h1><div id="range"></div></header>
<main>
<section id="nodata" hidden><h2>No data</h2><p>The input held no reading, window row, fault event or alert.</p></section>
<section id="overview"><div id="cards" class="cards"></div>
<div class="row"><div class="panel"><h2>Share of readings in band, per product</h2><div id="bands"></div></div>
<div class="panel"><h2>Alerts by kind and severity</h2><div id="alertkinds"></div></div></div>
<div class="panel" id="delaypanel" hidden><h2>Detection delay (simulator labels)</h2><div id="delays"></div></div>
</section>
<section class="panel" id="mappanel"><h2>Last known positions <span class="legend" id="maplegend"></span></h2><div id="mapwrap"><canvas id="map"></canvas><div id="maptip" hidden></div></div></section>
<section class="panel" id="timelinepanel"><h2>Fault timeline <span class="legend" id="faultlegend"></span></h2><div id="timeline"></div></section>
<section class="panel" id="drill"><h2>Container <input id="search" type="search" placeholder="container id…" autocomplete="off" spellcheck="false"><span id="matches"></span></h2><div id="drillinfo"></div><div id="charts"></div></section>
<section class="panel" id="alertspanel"><h2 id="alertstitle">Alerts</h2><div id="alerttable"></div></section>
</main>
<div id="drawn" hidden></div>
"#;
