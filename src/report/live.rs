//! `--serve ADDR`: the live page. A reader thread feeds the input (stdin
//! while a pipeline runs) into the fleet; every page opened on ADDR gets the
//! current state and then, over server-sent events (`/events`), the page's
//! data again whenever something new came in (at most once a second). With
//! `--horizon`, containers, episodes and alerts older than the horizon before
//! the latest record are dropped, so memory stays bounded on an endless stream.
//!
//! A plain HTTP/1.1 server on std's TcpListener (GET only, one thread per
//! connection): a dashboard for a few people on one machine needs no web
//! framework. Loopback unless an address says otherwise; Ctrl-C ends it (130).

use super::fleet::Fleet;
use super::html::Page;
use super::input::{self, Record};
use super::ReportArgs;
use crate::app::{usage, Exit};
use crate::codec::{Input, Rejects};
use crate::time::TimeParser;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Least time between two updates sent to a page.
const UPDATE_EVERY: Duration = Duration::from_secs(1);
/// A comment line to an idle page this often, so that proxies keep it open.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// What the reader thread and the page connections share.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    fleet: Fleet,
    /// Bumped on every change pages should see.
    version: u64,
    /// The input has ended (the page keeps being served).
    ended: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking reader leaves the fleet as it was: still worth showing.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `PORT` alone means loopback; otherwise any `HOST:PORT`.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    s.to_socket_addrs()
        .map_err(|e| format!("--serve {s}: {e}"))?
        .next()
        .ok_or_else(|| format!("--serve {s}: no address"))
}

pub fn serve(args: &ReportArgs, addr: &str) -> anyhow::Result<Exit> {
    let addr = parse_addr(addr).map_err(usage)?;
    let listener = TcpListener::bind(addr)
        .map_err(|e| usage(format!("--serve {addr}: cannot listen: {e}")))?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() {
        crate::warn!("reefer-report: serving on {bound}, reachable from other machines");
    }
    // Checks every path (a missing file is a usage error) before serving.
    let paths = args.input.open()?.paths().to_vec();
    let rejects = Arc::new(Mutex::new(args.input.rejects(super::TOOL)?));
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            fleet: Fleet::default(),
            version: 0,
            ended: false,
        }),
        changed: Condvar::new(),
    });
    let page = Arc::new(PageSettings {
        title: args.title.clone(),
        budget_bytes: (args.size_budget * 1e6) as usize,
        silent_ms: args.silent_after.millis,
    });
    crate::app::catch_interrupt();
    crate::warn!("reefer-report: live at http://{bound}/ (Ctrl-C to stop)");
    let feed = Feed {
        shared: Arc::clone(&shared),
        rejects: Arc::clone(&rejects),
        times: args.input.time_parser(),
        horizon: args.horizon.map(|h| h.millis),
    };
    // Inputs side by side, one thread each: a live pipeline's readings on
    // stdin and its events on a FIFO arrive as they come, not one after the other.
    let mut readers = Vec::new();
    for path in paths {
        let input = Input::new(std::slice::from_ref(&path), args.input.input_format);
        let feed = feed.clone();
        readers.push(std::thread::spawn(move || feed.read(input)));
    }
    listener.set_nonblocking(true)?;
    let mut ended = false;
    while !crate::app::interrupted() {
        if !ended && readers.iter().all(|r| r.is_finished()) {
            ended = true;
            for r in readers.drain(..) {
                match r.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(e.context("reading input")),
                    Err(_) => anyhow::bail!("an input reader panicked"),
                }
            }
            let counts = {
                let mut state = shared.lock();
                state.ended = true;
                state.fleet.counts
            };
            let rejects = rejects.lock().unwrap_or_else(|e| e.into_inner());
            if !args.out.quiet {
                let mut summary = super::summary(&counts, &rejects);
                summary
                    .notes
                    .push("input ended; the live page is served until Ctrl-C".into());
                crate::warn!("{}", summary.line("reefer-report"));
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let (shared, page) = (Arc::clone(&shared), Arc::clone(&page));
                std::thread::spawn(move || {
                    // A page that went away mid-answer is no error of ours.
                    let _ = answer(stream, &shared, &page);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => crate::warn!("reefer-report: accept: {e}"),
        }
    }
    Ok(Exit::Interrupted)
}

/// What a reader thread needs.
#[derive(Clone)]
struct Feed {
    shared: Arc<Shared>,
    rejects: Arc<Mutex<Rejects>>,
    times: TimeParser,
    horizon: Option<i64>,
}

impl Feed {
    /// Reads one input to its end into the shared fleet, publishing a new
    /// version when the input pauses (a live pipe) or every second of a busy one.
    fn read(&self, mut input: Input) -> anyhow::Result<()> {
        let catalog = crate::catalog::default_catalog();
        let mut last_bump = Instant::now();
        while let Some(next) = input.next_rec()? {
            let mut st = self.shared.lock();
            let bad = match next {
                Ok(rec) => match input::classify(rec.text, rec.csv.as_ref(), &self.times) {
                    Ok(Record::Telemetry { t, at_ms, row }) => {
                        st.fleet.add_telemetry(&t, at_ms, row, &catalog);
                        None
                    }
                    Ok(Record::Event(e)) => {
                        st.fleet.add_event(&e);
                        None
                    }
                    Err(why) => Some((rec.input.to_string(), rec.line, rec.raw.to_vec(), why)),
                },
                Err(bad) => Some((bad.input.to_string(), bad.line, bad.raw.to_vec(), bad.why)),
            };
            if input.would_block() || last_bump.elapsed() >= UPDATE_EVERY {
                self.publish(&mut st);
                last_bump = Instant::now();
            }
            drop(st);
            if let Some((name, line, raw, why)) = bad {
                let mut rejects = self.rejects.lock().unwrap_or_else(|e| e.into_inner());
                rejects.reject(&name, line, &raw, &why)?;
                rejects.flush()?;
            }
        }
        self.publish(&mut self.shared.lock());
        Ok(())
    }

    fn publish(&self, st: &mut State) {
        if let (Some(h), Some(last)) = (self.horizon, st.fleet.last_ms) {
            st.fleet.prune(last - h);
        }
        st.version += 1;
        self.shared.changed.notify_all();
    }
}

struct PageSettings {
    title: String,
    budget_bytes: usize,
    silent_ms: i64,
}

impl PageSettings {
    fn page<'a>(&'a self, catalog: &'a [crate::catalog::Product]) -> Page<'a> {
        Page {
            title: &self.title,
            budget_bytes: self.budget_bytes,
            silent_ms: self.silent_ms,
            catalog,
            live: true,
        }
    }
}

/// Answers one connection: `/` the page, `/data` its data, `/events` the stream.
fn answer(stream: TcpStream, shared: &Shared, settings: &PageSettings) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers are read and ignored: nothing in them changes the answer.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut out = stream;
    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let catalog = crate::catalog::default_catalog();
    let page = settings.page(&catalog);
    if method != "GET" {
        return respond(
            &mut out,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
        );
    }
    match path.split('?').next().unwrap_or("") {
        "/" | "/index.html" => {
            let mut body = Vec::new();
            page.write(&shared.lock().fleet, &mut body)?;
            respond(&mut out, "200 OK", "text/html; charset=utf-8", &body)
        }
        "/data" => {
            let body = page.data_json(&shared.lock().fleet)?;
            respond(&mut out, "200 OK", "application/json", body.as_bytes())
        }
        "/events" => events(out, shared, &page),
        _ => respond(&mut out, "404 Not Found", "text/plain", b"not found\n"),
    }
}

fn respond(out: &mut TcpStream, status: &str, kind: &str, body: &[u8]) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(body)?;
    out.flush()
}

/// Server-sent events: the page's data (one `data:` line of JSON) now and on
/// every change, at most once per [`UPDATE_EVERY`].
fn events(mut out: TcpStream, shared: &Shared, page: &Page) -> std::io::Result<()> {
    out.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n\r\n",
    )?;
    let mut seen = u64::MAX;
    loop {
        let (json, version) = {
            let mut st = shared.lock();
            let mut waited = Duration::ZERO;
            while st.version == seen && !crate::app::interrupted() {
                let (guard, timeout) = shared
                    .changed
                    .wait_timeout(st, Duration::from_millis(500))
                    .unwrap_or_else(|e| e.into_inner());
                st = guard;
                waited += Duration::from_millis(500);
                if timeout.timed_out() && waited >= KEEPALIVE {
                    break;
                }
            }
            if crate::app::interrupted() {
                return Ok(());
            }
            if st.version == seen {
                (None, seen)
            } else {
                (Some(page.data_json(&st.fleet)?), st.version)
            }
        };
        match json {
            Some(json) => {
                out.write_all(b"data: ")?;
                out.write_all(json.as_bytes())?;
                out.write_all(b"\n\n")?;
            }
            None => out.write_all(b": keepalive\n\n")?,
        }
        out.flush()?;
        seen = version;
        std::thread::sleep(UPDATE_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_binds_loopback() {
        assert_eq!(
            parse_addr("8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            parse_addr("0.0.0.0:9").unwrap(),
            "0.0.0.0:9".parse().unwrap()
        );
        assert!(parse_addr("nonsense").is_err());
    }
}
