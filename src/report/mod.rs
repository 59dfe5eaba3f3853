//! reefer-report: the picture at the end of the pipeline. Readings,
//! reefer-window rows, fault events and reefer-act's alerts in; one
//! self-contained HTML page out (and, with `--svg DIR`, the headline charts as
//! SVG files for mails and tickets).
//!
//! Input is streamed through the shared reader ([`crate::codec::Input`]) into
//! a [`fleet::Fleet`] whose size depends on the number of containers and
//! episodes, not on the length of the input: each container's series is
//! downsampled as it arrives ([`series`]). The page ([`html`]) draws with
//! SVG and one canvas from a small inline script of its own: no library, no
//! network request.

pub mod fleet;
pub mod html;
pub mod input;
pub mod live;
pub mod series;
pub mod svg;

use crate::app::{usage, Exit};
use crate::cli::{InputArgs, OutputArgs};
use crate::summary::Summary;
use crate::time::Span;
use anyhow::Context;
use clap::Parser;
use fleet::Fleet;
use input::Record;
use std::io::Write;

const TOOL: &str = "reefer-report";

const EXAMPLES: &str = "\
Examples:
  reefer-sim --containers 50 --duration 6h --seed 1 > r.jsonl; reefer-detect r.jsonl > ev.jsonl
  reefer-report r.jsonl ev.jsonl -o report.html
  reefer-window --size 1m day.jsonl | reefer-report - events.jsonl -o day.html
  reefer-report --alerts ~/.local/state/reefer/act.db rows.jsonl -o fleet.html
  reefer-ship --from file:///data/lake | reefer-report -o lake.html
  reefer-report --svg charts/ -o report.html r.jsonl ev.jsonl
  reefer-sim --speed 60 --forever | reefer-report --serve 8080 --horizon 6h   (live, on loopback)
  reefer-report --completions bash > /etc/bash_completion.d/reefer-report

The page: fleet overview (containers, readings, share in band per product, alerts by
severity and kind, detection delays when readings carry simulator labels), a map of
last positions coloured by state, a fault timeline, a drill-down per container (search
box, or #c=ID in the address) and a sortable alerts table. It makes no network request.";

/// Draw a fleet as one self-contained HTML page: overview, map, fault timeline,
/// per-container drill-down and alerts.
///
/// Reads, in any mix and from files or stdin (JSON Lines or CSV): telemetry
/// readings, reefer-window rows (recognised by `window_start`) and fault
/// events from reefer-detect (recognised by `detected_at`); and with --alerts
/// the alerts of a reefer-act state database. Input is streamed: each
/// container's series is downsampled as it comes (per-bucket min/max/mean,
/// at most 128 buckets in memory), so memory depends on the number of
/// containers, not on the length of the input, and the page is kept near
/// --size-budget. A container is "no data" when its last record is older
/// than --silent-after before the fleet's last record.
#[derive(Debug, Clone, Parser)]
#[command(name = "reefer-report", version, after_help = EXAMPLES)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// reefer-act's state database: its alerts go into the overview, the
    /// timeline and the alerts table (read only; never changed).
    #[arg(long, value_name = "PATH")]
    pub alerts: Option<String>,

    /// The page's title.
    #[arg(long, default_value = "Reefer fleet report", value_name = "TEXT")]
    pub title: String,

    /// About how large the page may grow, in MB: the series of containers
    /// without an episode are downsampled further to stay near it.
    #[arg(long, default_value_t = 8.0, value_name = "MB")]
    pub size_budget: f64,

    /// A container whose last record is this much older than the fleet's is shown as "no data".
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub silent_after: Span,

    /// Also write the headline charts as SVG files into DIR (created if
    /// missing): overview.svg, alerts.svg, timeline.svg, map.svg.
    #[arg(long, value_name = "DIR")]
    pub svg: Option<String>,

    /// Live mode: serve the page on ADDR (`PORT` alone is 127.0.0.1:PORT) and
    /// push every change of the input (a pipeline on stdin) to open pages with
    /// server-sent events, until Ctrl-C (exit 130). Paths: `/` the page,
    /// `/data` its data as JSON, `/events` the event stream.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["svg", "output"])]
    pub serve: Option<String>,

    /// With --serve: keep only this much event time before the latest record
    /// (containers last heard of earlier, closed episodes, resolved alerts and
    /// older series buckets are dropped), so memory stays bounded on an endless stream.
    #[arg(long, value_name = "DURATION", requires = "serve")]
    pub horizon: Option<Span>,

    /// `-o FILE`: where the page goes (default stdout).
    #[command(flatten)]
    pub out: OutputArgs,
}

pub fn run(args: ReportArgs) -> anyhow::Result<Exit> {
    if let Some(shell) = args.out.completions {
        crate::cli::write_completions::<ReportArgs>(shell, &mut std::io::stdout())?;
        return Ok(Exit::Ok);
    }
    if args.size_budget.is_nan() || args.size_budget <= 0.0 {
        return Err(usage("--size-budget must be more than 0"));
    }
    if let Some(addr) = &args.serve {
        return live::serve(&args, addr);
    }
    let started = std::time::Instant::now();
    let mut input = args.input.open()?;
    let mut rejects = args.input.rejects(TOOL)?;
    let times = args.input.time_parser();
    let catalog = crate::catalog::default_catalog();
    let mut fleet = Fleet::default();
    if let Some(path) = &args.alerts {
        let store = crate::act::store::Store::open_read_only(path)
            .map_err(|e| usage(format!("--alerts {path}: {e}")))?;
        for a in store.list_alerts(&Default::default())? {
            fleet.add_alert(a);
        }
    }
    let mut out = args.out.open()?;
    crate::app::catch_interrupt();
    let mut interrupted = false;
    while let Some(next) = input.next_rec().context("reading input")? {
        match next {
            Ok(rec) => match input::classify(rec.text, rec.csv.as_ref(), &times) {
                Ok(Record::Telemetry { t, at_ms, row }) => {
                    fleet.add_telemetry(&t, at_ms, row, &catalog)
                }
                Ok(Record::Event(e)) => fleet.add_event(&e),
                Err(why) => rejects.reject(rec.input, rec.line, rec.raw, &why)?,
            },
            Err(bad) => rejects.reject(bad.input, bad.line, bad.raw, &bad.why)?,
        }
        if crate::app::interrupted() {
            interrupted = true;
            break;
        }
    }
    rejects.flush()?;
    let page = html::Page {
        title: &args.title,
        budget_bytes: (args.size_budget * 1e6) as usize,
        silent_ms: args.silent_after.millis,
        catalog: &catalog,
        live: false,
    };
    // A closed stdout (`| head`): the page stops there, quietly; --svg and
    // --stats-json are still written.
    let mut written = 0;
    let closed = crate::app::output_closed((|| {
        written = page.write(&fleet, &mut out).context("writing the page")?;
        out.flush().context("writing the page")?;
        Ok(())
    })())?;
    if let Some(dir) = &args.svg {
        svg::write_all(&fleet, &catalog, dir, args.silent_after.millis)?;
    }
    let mut summary = summary(&fleet.counts, &rejects);
    summary.written = u64::from(!closed);
    summary.output_closed = closed;
    summary.notes.push(format!(
        "{} containers, {} readings, {} window rows, {} events, {} episodes, {} alerts; page {:.1} MB",
        fleet.containers.len(),
        fleet.counts.readings,
        fleet.counts.rows,
        fleet.counts.events,
        fleet.episodes.len(),
        fleet.alerts.len(),
        written as f64 / 1e6
    ));
    if !args.out.quiet && !closed {
        crate::warn!("{}", summary.line(TOOL));
    }
    if let Some(path) = &args.out.stats_json {
        summary.write_json(
            path,
            TOOL,
            started,
            serde_json::json!({
                "containers": fleet.containers.len(),
                "readings": fleet.counts.readings,
                "rows": fleet.counts.rows,
                "events": fleet.counts.events,
                "episodes": fleet.episodes.len(),
                "alerts": fleet.alerts.len(),
                "bytes": written,
            }),
        )?;
    }
    if closed {
        return Ok(Exit::Ok);
    }
    if interrupted {
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::from_rejected(rejects.count()))
}

/// The summary of what was read (the page itself is counted by the caller).
fn summary(counts: &fleet::Counts, rejects: &crate::codec::Rejects) -> Summary {
    Summary {
        read: counts.readings + counts.rows + counts.events + rejects.count(),
        rejected: rejects.count(),
        rejected_kept_in: rejects.kept_in().map(str::to_string),
        ..Summary::new("page")
    }
}
