//! `--svg DIR`: the headline charts as standalone SVG files, drawn in Rust
//! without a browser, for mails and tickets: the share in band per product,
//! alerts (or episodes) by kind and severity, the fault timeline, and the map.

use super::fleet::{Fleet, State};
use super::html::LAND;
use crate::catalog::Product;
use crate::event::Severity;
use anyhow::Context;
use std::fmt::Write as _;

const FONT: &str = "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\"";

/// Most timeline rows an SVG draws (a mail attachment, not a database).
const MAX_ROWS: usize = 60;

pub fn write_all(
    fleet: &Fleet,
    catalog: &[Product],
    dir: &str,
    silent_ms: i64,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("--svg: cannot create {dir}"))?;
    let files = [
        ("overview.svg", bands(fleet, catalog)),
        ("alerts.svg", kinds(fleet)),
        ("timeline.svg", timeline(fleet)),
        ("map.svg", map(fleet, silent_ms)),
    ];
    for (name, text) in files {
        let path = std::path::Path::new(dir).join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("--svg: cannot write {}", path.display()))?;
    }
    Ok(())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn open(w: u32, h: u32, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" {FONT}>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<text x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"600\">{}</text>\n",
        esc(title)
    )
}

fn bands(fleet: &Fleet, catalog: &[Product]) -> String {
    let rows: Vec<_> = fleet
        .products
        .iter()
        .filter(|(_, s)| s.readings > 0.0)
        .collect();
    let (w, rh) = (720u32, 26u32);
    let mut s = open(
        w,
        44 + rh * rows.len().max(1) as u32,
        "Share of readings in band, per product",
    );
    if rows.is_empty() {
        s.push_str("<text x=\"12\" y=\"56\" fill=\"#667085\">no readings with a product</text>\n");
    }
    for (i, (id, st)) in rows.iter().enumerate() {
        let y = 36 + i as u32 * rh;
        let name = crate::catalog::find(catalog, id).map_or("", |p| p.name.as_str());
        let share = st.in_band / st.readings;
        let bar = 400.0 * share;
        let color = if share > 0.95 {
            "#2e9d5b"
        } else if share > 0.8 {
            "#e3a008"
        } else {
            "#d64541"
        };
        let _ = writeln!(
            s,
            "<text x=\"12\" y=\"{}\">{} {}</text><rect x=\"215\" y=\"{}\" width=\"400\" height=\"16\" rx=\"3\" fill=\"#eef0f3\"/>\
             <rect x=\"215\" y=\"{}\" width=\"{bar:.1}\" height=\"16\" rx=\"3\" fill=\"{color}\"/><text x=\"623\" y=\"{}\">{:.1} %</text>",
            y + 13,
            esc(id),
            esc(name),
            y + 1,
            y + 1,
            y + 13,
            share * 100.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Alerts by kind (from --alerts), else episodes by kind, split by severity and open/resolved.
fn kinds(fleet: &Fleet) -> String {
    let from_alerts = !fleet.alerts.is_empty();
    let mut counts = vec![[0u32; 4]; fleet.faults.len()];
    let mut add = |fault: usize, sev: Severity, open: bool| {
        let k = usize::from(sev == Severity::Critical) * 2 + usize::from(!open);
        if let Some(c) = counts.get_mut(fault) {
            c[k] += 1;
        }
    };
    if from_alerts {
        for a in &fleet.alerts {
            if let Some(f) = fleet.faults.iter().position(|f| **f == *a.fault) {
                add(f, a.severity, a.open);
            }
        }
    } else {
        for e in &fleet.episodes {
            add(usize::from(e.fault), e.severity, e.end_ms.is_none());
        }
    }
    let rows: Vec<(usize, [u32; 4])> = counts
        .into_iter()
        .enumerate()
        .filter(|(_, c)| c.iter().sum::<u32>() > 0)
        .collect();
    let max = rows
        .iter()
        .map(|(_, c)| c.iter().sum::<u32>())
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, rh) = (720u32, 26u32);
    let title = if from_alerts {
        "Alerts by kind and severity"
    } else {
        "Fault episodes by kind and severity"
    };
    let mut s = open(w, 70 + rh * rows.len().max(1) as u32, title);
    let colors = ["#d64541", "#f0a5a0", "#e3a008", "#f3d48a"];
    let names = [
        "critical open",
        "critical resolved",
        "warning open",
        "warning resolved",
    ];
    for (i, name) in names.iter().enumerate() {
        let x = 12 + i as u32 * 150;
        let _ = writeln!(s, "<rect x=\"{x}\" y=\"32\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"41\">{name}</text>", colors[i], x + 14);
    }
    if rows.is_empty() {
        s.push_str(
            "<text x=\"12\" y=\"70\" fill=\"#667085\">no alerts and no fault events</text>\n",
        );
    }
    for (i, (fault, c)) in rows.iter().enumerate() {
        let y = 56 + i as u32 * rh;
        let _ = write!(
            s,
            "<text x=\"12\" y=\"{}\">{}</text>",
            y + 13,
            esc(&fleet.faults[*fault])
        );
        let mut x = 190.0;
        for (k, n) in c.iter().enumerate() {
            let bw = 440.0 * f64::from(*n) / f64::from(max);
            if *n > 0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{}\" width=\"{bw:.1}\" height=\"16\" fill=\"{}\"/>",
                    y + 1,
                    colors[k]
                );
            }
            x += bw;
        }
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\">{}</text>",
            x + 6.0,
            y + 13,
            c.iter().sum::<u32>()
        );
    }
    s.push_str("</svg>\n");
    s
}

fn fault_color(name: &str, i: usize) -> &'static str {
    const PALETTE: [&str; 6] = [
        "#0e7490", "#6b7280", "#db2777", "#4d7c0f", "#1d8fbf", "#7b4fd0",
    ];
    match name {
        "power_off" => "#d64541",
        "compressor_failure" => "#7b4fd0",
        "fan_failure" => "#1d8fbf",
        "door_open" => "#e3a008",
        "temperature_sensor" => "#c2410c",
        "co2_sensor" => "#0f9d8a",
        "o2_sensor" => "#4d7c0f",
        "temperature_excursion" => "#db2777",
        _ => PALETTE[i % PALETTE.len()],
    }
}

fn timeline(fleet: &Fleet) -> String {
    let (Some(from), Some(to)) = (fleet.first_ms, fleet.last_ms) else {
        let mut s = open(720, 60, "Fault timeline");
        s.push_str("<text x=\"12\" y=\"48\" fill=\"#667085\">no data</text></svg>\n");
        return s;
    };
    let mut first: Vec<(i64, u32)> = Vec::new();
    for e in &fleet.episodes {
        match first.iter_mut().find(|(_, c)| *c == e.container) {
            Some(f) => f.0 = f.0.min(e.since_ms),
            None => first.push((e.since_ms, e.container)),
        }
    }
    first.sort_unstable();
    let shown = &first[..first.len().min(MAX_ROWS)];
    let (w, rh, left) = (960u32, 16u32, 130.0);
    let span = (to - from).max(1) as f64;
    let x = |t: i64| left + (t.clamp(from, to) - from) as f64 / span * (f64::from(w) - left - 12.0);
    let mut s = open(w, 60 + rh * shown.len().max(1) as u32, "Fault timeline");
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"44\" fill=\"#667085\">{}</text><text x=\"{}\" y=\"44\" text-anchor=\"end\" fill=\"#667085\">{}</text>",
        crate::time::format_millis(from),
        w - 12,
        crate::time::format_millis(to)
    );
    if shown.is_empty() {
        s.push_str("<text x=\"12\" y=\"66\" fill=\"#667085\">no fault episode</text>\n");
    }
    for (row, (_, ci)) in shown.iter().enumerate() {
        let y = 52 + row as u32 * rh;
        let _ = write!(
            s,
            "<text x=\"12\" y=\"{}\">{}</text>",
            y + 12,
            esc(&fleet.containers[*ci as usize].id)
        );
        for e in fleet.episodes.iter().filter(|e| e.container == *ci) {
            let (a, b) = (x(e.since_ms), x(e.end_ms.unwrap_or(to)));
            let name = &fleet.faults[usize::from(e.fault)];
            let _ = write!(
                s,
                "<rect x=\"{a:.1}\" y=\"{}\" width=\"{:.1}\" height=\"10\" rx=\"2\" fill=\"{}\" opacity=\"{}\"><title>{}</title></rect>",
                y + 3,
                (b - a).max(3.0),
                fault_color(name, usize::from(e.fault)),
                if e.severity == Severity::Critical { "0.95" } else { "0.6" },
                esc(name)
            );
        }
        s.push('\n');
    }
    if first.len() > shown.len() {
        let _ = writeln!(
            s,
            "<text x=\"12\" y=\"{}\" fill=\"#667085\">and {} more containers</text>",
            64 + rh * shown.len() as u32,
            first.len() - shown.len()
        );
    }
    s.push_str("</svg>\n");
    s
}

fn map(fleet: &Fleet, silent_ms: i64) -> String {
    let (w, h) = (960.0_f64, 432.0_f64);
    let (top, bottom) = (80.0, -58.0);
    let px = |lon: f64, lat: f64| {
        (
            (lon + 180.0) / 360.0 * w,
            30.0 + (top - lat) / (top - bottom) * h,
        )
    };
    let mut s = open(w as u32, h as u32 + 30, "Last known positions");
    let _ = writeln!(
        s,
        "<clipPath id=\"sea\"><rect x=\"0\" y=\"30\" width=\"{w}\" height=\"{h}\"/></clipPath>\
         <rect x=\"0\" y=\"30\" width=\"{w}\" height=\"{h}\" fill=\"#dbe9f6\"/>"
    );
    s.push_str("<path clip-path=\"url(#sea)\" fill=\"#f3efe6\" stroke=\"#b9b2a3\" stroke-width=\"0.7\" d=\"");
    for ring in LAND
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        for (i, p) in ring.split(' ').enumerate() {
            let Some((lon, lat)) = p.split_once(',') else {
                continue;
            };
            let (Ok(lon), Ok(lat)) = (lon.parse::<f64>(), lat.parse::<f64>()) else {
                continue;
            };
            let (x, y) = px(lon / 10.0, lat / 10.0);
            let _ = write!(s, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
        }
        s.push('Z');
    }
    s.push_str("\"/>\n");
    let states = fleet.states(silent_ms);
    let mut order: Vec<usize> = (0..fleet.containers.len()).collect();
    order.sort_by_key(|&i| states[i]);
    for i in order {
        let Some((lat, lon)) = fleet.containers[i].position else {
            continue;
        };
        let (x, y) = px(f64::from(lon), f64::from(lat));
        let color = match states[i] {
            State::Ok => "#2e9d5b",
            State::NoData => "#8a94a6",
            State::Warning => "#e3a008",
            State::Critical => "#d64541",
        };
        let _ = writeln!(s, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"0.8\"/>");
    }
    s.push_str("</svg>\n");
    s
}
