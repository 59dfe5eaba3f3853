//! reefer: small, composable Unix tools for refrigerated-container telemetry.
//!
//! Data flows `reefer-sim → reefer-window → reefer-detect → reefer-act`, with
//! `reefer-ship` beside them moving records to and from Kinesis, Firehose, S3
//! and a local data lake, and `reefer-report` drawing any of their outputs as
//! one self-contained HTML page. Every tool reads and writes the one reading type of
//! [`record`] through the one I/O layer of [`codec`], and starts through the
//! shared entry point of [`app`], which owns exit codes and broken pipes.

pub mod act;
pub mod app;
pub mod aws;
pub mod backoff;
pub mod catalog;
pub mod cli;
pub mod codec;
pub mod detect;
pub mod event;
pub mod record;
pub mod redact;
pub mod report;
pub mod ship;
pub mod sim;
pub mod statefile;
pub mod summary;
pub mod time;
pub mod tools;
pub mod window;
