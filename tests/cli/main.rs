//! CLI tests: one module per tool, over the committed `samples/`.
//! Set `REEFER_BLESS=1` to rewrite golden files instead of comparing them.

mod act;
mod common;
mod detect;
mod flink;
mod malformed;
mod man;
mod report;
mod roles;
mod ship;
mod sim;
mod window;
