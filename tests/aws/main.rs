//! Tests against the local AWS emulator (moto) and the MQTT broker
//! (Mosquitto) that scripts/test.sh installs and starts: run them with `scripts/test.sh`, which CI does. Plain
//! `cargo test` skips this target only because it is not built by default
//! (`test = false` in Cargo.toml); `scripts/test.sh` names it explicitly, so
//! CI never skips these tests.

mod act;
#[path = "../cli/common.rs"]
mod common;
mod examples;
mod lake;
mod mqtt;
mod replay;
mod ship;
