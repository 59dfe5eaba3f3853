//! Chunks of one [`Source`] parsed on a pool of threads and taken back in
//! input order: a reader thread fills chunks, parser threads run a tool's
//! parse function on each, and the calling thread receives them one by one,
//! in order, to do the sequential part (windowing, rules).
//!
//! A fixed number of jobs circulate (the caller hands each back with
//! [`Ordered::recycle`]), so memory stays at most a fixed number of chunks
//! (34 of 1 MiB with two parsers, 64 at most) whatever the input: the pool
//! grows to that cap as the reader gets ahead of the parsers, then stays.
//! The end of input is an explicit message: a reader that fails, or a parser
//! that panics, surfaces as an error at its place in the order, never as a
//! quiet end of input.

use super::source::{Chunk, Source};
use std::collections::BTreeMap;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A chunk and what a parser made of it.
pub struct Job<T> {
    pub chunk: Chunk,
    pub out: T,
}

enum Msg<T> {
    Job(Job<T>),
    Failed(io::Error),
    /// A parser panicked on this chunk (why): said with the chunk's first line.
    Panicked(String),
    End,
}

/// A parse result whose line numbers can be moved: parsers number each
/// chunk's lines from 1, and [`Ordered::next`], which takes the chunks in
/// input order, moves them by the lines of the chunks before.
pub trait Renumber {
    /// Adds `by` to every line number held.
    fn renumber(&mut self, by: u64);
}

impl Renumber for () {
    fn renumber(&mut self, _: u64) {}
}

/// What [`Ordered::next`] gives.
pub enum Next<T> {
    /// The next chunk in input order, parsed.
    Job(Job<T>),
    /// Nothing arrived within the wait (check Ctrl-C, a clock).
    Idle,
    /// Every chunk was delivered.
    End,
}

/// Parsed chunks of one input, in order.
pub struct Ordered<T> {
    done: Receiver<(u64, Msg<T>)>,
    pending: BTreeMap<u64, Msg<T>>,
    next: u64,
    recycle: Sender<Job<T>>,
    ended: bool,
    /// Physical line number of the next chunk's first line.
    next_line: u64,
}

/// Starts reading `source` on its own thread and parsing its chunks with
/// `parse` on `threads` threads (at least one).
pub fn parse_in_order<T, F>(mut source: Source, threads: usize, parse: F) -> io::Result<Ordered<T>>
where
    T: Default + Send + Renumber + 'static,
    F: Fn(&Chunk, &mut T) + Send + Sync + 'static,
{
    let threads = threads.max(1);
    source.number_later();
    // Jobs in circulation: enough slack that the calling thread, when it is
    // about as busy as the parsers together (reefer-detect), rarely waits for
    // the one chunk it needs next while the other parsers have nothing to
    // take. reefer-detect on 10,000 containers x 1 h with 2 parsers, the
    // builds taking turns: 8 jobs 2.68 s wall (median of 6), 18 jobs 2.35 s;
    // then 18 jobs 2.30 s, 34 jobs 2.14 s (medians of 6); reefer-window 1.50 s
    // with 8, 1.41 s with 18. Each job is a 1 MiB chunk and its parsed lines
    // (about 1.4 MB): 34 jobs are 91 MB of peak RSS for reefer-detect (68 with
    // 18, 54 with 8), bounded whatever the input's length. Capped for many
    // threads.
    let max_jobs = (16 * threads + 2).min(64);
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Job<T>)>(threads);
    let (done_tx, done_rx) = mpsc::sync_channel::<(u64, Msg<T>)>(max_jobs);
    let (recycle_tx, recycle_rx) = mpsc::channel::<Job<T>>();
    let reader_done = done_tx.clone();
    std::thread::Builder::new()
        .name("reader".into())
        .spawn(move || read_chunks(source, &job_tx, &reader_done, &recycle_rx, max_jobs))?;
    let job_rx = Arc::new(Mutex::new(job_rx));
    let parse = Arc::new(parse);
    for i in 0..threads {
        let rx = Arc::clone(&job_rx);
        let tx = done_tx.clone();
        let parse = Arc::clone(&parse);
        std::thread::Builder::new()
            .name(format!("parser-{i}"))
            .spawn(move || parse_jobs(&rx, &tx, &*parse))?;
    }
    Ok(Ordered {
        done: done_rx,
        pending: BTreeMap::new(),
        next: 0,
        recycle: recycle_tx,
        ended: false,
        next_line: 1,
    })
}

impl<T: Renumber> Ordered<T> {
    /// The next parsed chunk in order, waiting at most `wait`.
    pub fn next(&mut self, wait: Duration) -> io::Result<Next<T>> {
        loop {
            if self.ended {
                return Ok(Next::End);
            }
            if let Some(msg) = self.pending.remove(&self.next) {
                self.next += 1;
                return match msg {
                    Msg::Job(mut job) => {
                        // Numbered from 1 by its parser: moved to its place.
                        job.chunk.first_line = self.next_line;
                        job.out.renumber(self.next_line - 1);
                        self.next_line += job.chunk.lines;
                        Ok(Next::Job(job))
                    }
                    Msg::Failed(e) => {
                        self.ended = true;
                        Err(e)
                    }
                    Msg::Panicked(why) => {
                        self.ended = true;
                        Err(io::Error::other(format!(
                            "a parser thread failed in the chunk starting at line {}: {why}",
                            self.next_line
                        )))
                    }
                    Msg::End => {
                        self.ended = true;
                        Ok(Next::End)
                    }
                };
            }
            match self.done.recv_timeout(wait) {
                Ok((seq, msg)) => {
                    self.pending.insert(seq, msg);
                }
                Err(RecvTimeoutError::Timeout) => return Ok(Next::Idle),
                Err(RecvTimeoutError::Disconnected) => {
                    self.ended = true;
                    return Err(io::Error::other(
                        "the reader and parser threads stopped before the end of input",
                    ));
                }
            }
        }
    }

    /// Hands a chunk back for reuse.
    pub fn recycle(&self, job: Job<T>) {
        let _ = self.recycle.send(job);
    }
}

fn read_chunks<T: Default>(
    mut source: Source,
    jobs: &SyncSender<(u64, Job<T>)>,
    done: &SyncSender<(u64, Msg<T>)>,
    recycle: &Receiver<Job<T>>,
    max_jobs: usize,
) {
    let mut allocated = 0usize;
    let mut seq = 0u64;
    loop {
        let job = match recycle.try_recv() {
            Ok(job) => Some(job),
            Err(_) if allocated < max_jobs => {
                allocated += 1;
                Some(Job {
                    chunk: Chunk::default(),
                    out: T::default(),
                })
            }
            Err(_) => recycle.recv().ok(),
        };
        let Some(mut job) = job else { return };
        match source.fill(&mut job.chunk) {
            Ok(true) => {
                if jobs.send((seq, job)).is_err() {
                    return;
                }
            }
            Ok(false) => {
                let _ = done.send((seq, Msg::End));
                return;
            }
            Err(e) => {
                let e = io::Error::new(e.kind(), format!("reading {}: {e}", source.name()));
                let _ = done.send((seq, Msg::Failed(e)));
                return;
            }
        }
        seq += 1;
    }
}

fn parse_jobs<T, F>(
    jobs: &Mutex<Receiver<(u64, Job<T>)>>,
    done: &SyncSender<(u64, Msg<T>)>,
    parse: &F,
) where
    F: Fn(&Chunk, &mut T),
{
    loop {
        let (seq, mut job) = {
            let Ok(rx) = jobs.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let counted = catch_unwind(AssertUnwindSafe(|| {
            job.chunk
                .count_lines_after(|chunk| parse(chunk, &mut job.out))
        }));
        let msg = match counted {
            Ok(lines) => {
                // Counted here, by the parser's walk or while the chunk is
                // in this core's cache.
                job.chunk.lines = lines;
                Msg::Job(job)
            }
            Err(panic) => Msg::Panicked(
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown cause".into()),
            ),
        };
        if done.send((seq, msg)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bytes: Vec<u8>) -> Source {
        Source::from_reader("t", Box::new(io::Cursor::new(bytes)), None).unwrap()
    }

    impl Renumber for Vec<u64> {
        fn renumber(&mut self, by: u64) {
            for n in self {
                *n += by;
            }
        }
    }

    #[test]
    fn chunks_come_back_in_input_order() {
        let mut input = Vec::new();
        for i in 0..200_000 {
            input.extend_from_slice(format!("{{\"i\":{i}}}\n").as_bytes());
        }
        let mut ordered = parse_in_order(source(input), 3, |c: &Chunk, out: &mut Vec<u64>| {
            out.clear();
            out.extend(c.lines().map(|l| l.no));
        })
        .unwrap();
        let mut seen = Vec::new();
        loop {
            match ordered.next(Duration::from_secs(5)).unwrap() {
                Next::Job(job) => {
                    seen.extend_from_slice(&job.out);
                    ordered.recycle(job);
                }
                Next::Idle => continue,
                Next::End => break,
            }
        }
        assert_eq!(seen, (1..=200_000).collect::<Vec<_>>());
    }

    /// Every chunk's line numbers in order, with `parse`.
    fn numbers(input: &[u8], parse: fn(&Chunk, &mut Vec<u64>)) -> Vec<Vec<u64>> {
        let mut ordered = parse_in_order(source(input.to_vec()), 2, parse).unwrap();
        let mut chunks = Vec::new();
        loop {
            match ordered.next(Duration::from_secs(5)).unwrap() {
                Next::Job(job) => {
                    chunks.push(job.out.clone());
                    ordered.recycle(job);
                }
                Next::Idle => continue,
                Next::End => return chunks,
            }
        }
    }

    #[test]
    fn line_numbers_are_the_same_whether_a_parser_walks_a_chunk_to_its_end_or_not() {
        // Blank lines, CRLF and no final line ending: each is a physical line.
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for i in 1..=300_000u64 {
            match i % 7 {
                0 => input.extend_from_slice(b"  \n"),
                3 => {
                    input.extend_from_slice(format!("{{\"i\":{i}}}\r\n").as_bytes());
                    expected.push(i);
                }
                _ => {
                    input.extend_from_slice(format!("{{\"i\":{i}}}\n").as_bytes());
                    expected.push(i);
                }
            }
        }
        input.extend_from_slice(b"{\"i\":\"last\"}");
        expected.push(300_001);
        // The walk to the end counts the lines; a parser that stops early
        // leaves them to be counted after it.
        let walked = numbers(&input, |c, out| {
            out.clear();
            out.extend(c.lines().map(|l| l.no));
        });
        let first_only = numbers(&input, |c, out| {
            out.clear();
            out.extend(c.lines().next().map(|l| l.no));
        });
        assert!(walked.len() > 2, "the input should span several chunks");
        assert_eq!(walked.concat(), expected);
        let firsts: Vec<Vec<u64>> = walked.iter().map(|c| c[..1].to_vec()).collect();
        assert_eq!(first_only, firsts);
    }

    #[test]
    fn a_panicking_parser_is_an_error_not_the_end_of_input() {
        let mut ordered =
            parse_in_order(source(b"{}\n{}\n".to_vec()), 2, |_: &Chunk, _: &mut ()| {
                panic!("boom")
            })
            .unwrap();
        let err = loop {
            match ordered.next(Duration::from_secs(5)) {
                Ok(Next::Idle) => continue,
                Ok(Next::End) => panic!("a failed parse must not look like the end"),
                Ok(Next::Job(_)) => panic!("no job should succeed"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("boom"), "{err}");
        assert!(err.to_string().contains("starting at line 1:"), "{err}");
    }

    #[test]
    fn a_failing_reader_is_an_error() {
        struct Failing(bool);
        impl io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 {
                    return Err(io::Error::other("disk on fire"));
                }
                self.0 = true;
                buf[..3].copy_from_slice(b"{}\n");
                Ok(3)
            }
        }
        let src = Source::from_reader("f", Box::new(Failing(false)), None).unwrap();
        let mut ordered = parse_in_order(src, 1, |_: &Chunk, _: &mut ()| {}).unwrap();
        let mut jobs = 0;
        let err = loop {
            match ordered.next(Duration::from_secs(5)) {
                Ok(Next::Job(j)) => {
                    jobs += 1;
                    ordered.recycle(j);
                }
                Ok(Next::Idle) => continue,
                Ok(Next::End) => panic!("a failed read must not look like the end"),
                Err(e) => break e,
            }
        };
        assert_eq!(jobs, 1);
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }
}
