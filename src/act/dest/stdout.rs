use super::{DeliveryError, Destination};
use crate::codec::Output;
use serde_json::Value;
use std::io::Write;

/// `-`: notifications as JSON Lines on stdout (or the `-o` file).
pub struct Stdout {
    out: Output,
}

impl Stdout {
    pub fn new(out: Output) -> Self {
        Stdout { out }
    }
}

impl Destination for Stdout {
    fn uri(&self) -> &str {
        "-"
    }

    fn deliver(&mut self, payload: &Value) -> Result<(), DeliveryError> {
        let mut line = payload.to_string();
        line.push('\n');
        // A closed stdout is not a failed delivery to retry: it ends the run quietly.
        self.out
            .write_all(line.as_bytes())
            .and_then(|_| self.out.flush())
            .map_err(|e| DeliveryError {
                broken_pipe: e.kind() == std::io::ErrorKind::BrokenPipe,
                ..DeliveryError::permanent(format!("stdout: {e}"))
            })
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
