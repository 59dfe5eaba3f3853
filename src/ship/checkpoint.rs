//! The Kinesis read checkpoint: per shard, how far delivery got. Written
//! atomically (temporary file, then rename) only at moments when everything
//! read before has been delivered, so a resumed run neither loses nor repeats.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// How far one shard was delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ShardMark {
    /// Sequence number of the last Kinesis record (partly) delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// Records (lines, KPL user records) of that Kinesis record already
    /// delivered; 0 means all of it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u64,
    /// The shard is closed and was read to its end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Checkpoint {
    pub stream: String,
    pub shards: BTreeMap<String, ShardMark>,
}

/// Where one delivered record came from in a shard.
#[derive(Debug, Clone)]
pub struct Pos {
    pub shard: Arc<str>,
    pub sequence: Arc<str>,
    /// 1-based index of this record among those of its Kinesis record.
    pub index: u64,
    /// This is the last record of its Kinesis record.
    pub last: bool,
}

impl Checkpoint {
    pub fn load(path: &Path) -> Result<Option<Checkpoint>, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("checkpoint {}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read checkpoint {}: {e}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let mut text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        std::fs::write(&tmp, &text)?;
        std::fs::rename(&tmp, path)
    }

    /// Records that `pos` was delivered.
    pub fn advance(&mut self, pos: &Pos) {
        let mark = self.shards.entry(pos.shard.to_string()).or_default();
        mark.sequence = Some(pos.sequence.to_string());
        mark.skip = if pos.last { 0 } else { pos.index };
    }

    pub fn shard_done(&mut self, shard: &str) {
        self.shards.entry(shard.to_string()).or_default().done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_advances() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp.json");
        assert_eq!(Checkpoint::load(&p).unwrap(), None);
        let mut c = Checkpoint {
            stream: "s".into(),
            ..Default::default()
        };
        let pos = |seq: &str, index, last| Pos {
            shard: "sh-0".into(),
            sequence: seq.into(),
            index,
            last,
        };
        c.advance(&pos("7", 1, false));
        assert_eq!(
            c.shards["sh-0"],
            ShardMark {
                sequence: Some("7".into()),
                skip: 1,
                done: false
            }
        );
        c.advance(&pos("7", 2, true));
        assert_eq!(c.shards["sh-0"].skip, 0);
        c.shard_done("sh-1");
        c.save(&p).unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap().unwrap(), c);
    }
}
