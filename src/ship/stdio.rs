//! stdin as a source (JSON Lines or CSV, via the shared codec) and stdout as a sink.

use super::account::Account;
use super::{object_checker, Item, Msg, Origin};
use crate::codec::scan::Scanner;
use crate::codec::{Bad, FormatChoice, Input, Output, Rec};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::mpsc::Sender;

/// Reads stdin on its own thread (reads block) and sends records to the main
/// loop. The handle tells the main loop whether the thread ended or died.
pub fn spawn_stdin(
    format: FormatChoice,
    tx: Sender<Msg>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ship-stdin".into())
        .spawn(move || {
            let mut input = Input::new(&[], format);
            let name: Arc<str> = Arc::from("stdin");
            while !stop.load(Ordering::Relaxed) {
                let msg = match input.next_rec() {
                    Ok(None) => return,
                    Err(e) => Msg::Fatal(anyhow::Error::new(e).context("reading stdin")),
                    Ok(Some(rec)) => to_msg(&name, rec),
                };
                let fatal = matches!(msg, Msg::Fatal(_));
                if tx.blocking_send(msg).is_err() || fatal {
                    return;
                }
            }
        })
}

/// One record of stdin as a message: a JSON line as it is, a CSV row as a
/// JSON object (its raw row kept for the dead letter).
fn to_msg(name: &Arc<str>, rec: Result<Rec<'_>, Bad<'_>>) -> Msg {
    let rec = match rec {
        Ok(rec) => rec,
        Err(bad) => {
            return Msg::Bad {
                origin: Origin {
                    input: name.clone(),
                    line: bad.line,
                },
                raw: bad.raw.to_vec(),
                why: bad.why,
                pos: None,
            }
        }
    };
    let origin = Origin {
        input: name.clone(),
        line: rec.line,
    };
    let line = match &rec.csv {
        Some(map) => match serde_json::to_string(map) {
            Ok(line) => line,
            Err(e) => {
                return Msg::Bad {
                    origin,
                    raw: rec.raw.to_vec(),
                    why: format!("cannot write the row as JSON: {e}"),
                    pos: None,
                }
            }
        },
        None => rec.text.to_string(),
    };
    let plain = rec.raw.len() == line.len() + 1
        && rec.raw.starts_with(line.as_bytes())
        && rec.raw.ends_with(b"\n");
    Msg::Item(Item {
        raw: (!plain).then(|| rec.raw.into()),
        line,
        origin,
        pos: None,
    })
}

/// Writes records to stdout, one JSON object per line.
pub struct StdoutSink {
    out: Output,
    checker: Scanner,
    dirty: bool,
}

impl StdoutSink {
    pub fn new(out: Output) -> Self {
        StdoutSink {
            out,
            checker: object_checker(),
            dirty: false,
        }
    }

    pub fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        if let Err(why) = self.checker.scan(item.line.as_bytes()) {
            return item.reject(acct, &why);
        }
        self.out.write_all(item.line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.end_record()?;
        self.dirty = true;
        acct.shipped += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> anyhow::Result<()> {
        if self.dirty {
            self.out.flush()?;
            self.dirty = false;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        !self.dirty
    }
}
