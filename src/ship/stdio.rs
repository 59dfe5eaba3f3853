//! stdin as a source (JSON Lines or CSV, via the shared codec) and stdout as a sink.

use super::account::Account;
use super::{field, Item, Msg};
use crate::codec::{FormatChoice, Input, Output};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::Sender;

/// Reads stdin on its own thread (reads block) and sends records to the main loop.
pub fn spawn_stdin(format: FormatChoice, tx: Sender<Msg>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut input = Input::new(&[], format);
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let msg = match input.next_rec() {
                Ok(None) => return,
                Err(e) => Msg::Fatal(anyhow::Error::new(e).context("reading stdin")),
                Ok(Some(Err(bad))) => Msg::Bad {
                    origin: format!("{}:{}", bad.input, bad.line),
                    raw: String::from_utf8_lossy(bad.raw).into_owned(),
                    why: bad.why,
                    pos: None,
                },
                Ok(Some(Ok(rec))) => {
                    let origin = format!("{}:{}", rec.input, rec.line);
                    match &rec.csv {
                        Some(map) => Msg::Item(Item {
                            line: serde_json::to_string(map).expect("a JSON map serializes"),
                            origin,
                            pos: None,
                        }),
                        None => Msg::Item(Item {
                            line: rec.text.to_string(),
                            origin,
                            pos: None,
                        }),
                    }
                }
            };
            let fatal = matches!(msg, Msg::Fatal(_));
            if tx.blocking_send(msg).is_err() || fatal {
                return;
            }
        }
    });
}

/// Writes records to stdout, one JSON object per line.
pub struct StdoutSink {
    out: Output,
    dirty: bool,
}

impl StdoutSink {
    pub fn new() -> Self {
        StdoutSink {
            out: Output::stdout(false),
            dirty: false,
        }
    }

    pub fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        if let Err(why) = field::check_object(&item.line) {
            return acct.reject(&item.origin, &item.line, &why);
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
