//! `file://DIR`: the local data lake, laid out exactly like the S3 one; and
//! the options of lake writes (`file://` and `s3://`): object format and S3
//! server-side encryption.

use super::objects::{decoder, ObjectLines, ObjectMerge, Range};
use super::Msg;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::mpsc::Sender;

/// Options of lake writes, one argument group of reefer-ship.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Lake writes (file:// and s3://)")]
pub struct LakeArgs {
    /// Server-side encryption of the objects written to s3:// (single PUT and
    /// multipart): aws:kms (SSE-KMS; needs kms:GenerateDataKey, and kms:Decrypt
    /// for multipart uploads and for reading back) or AES256 (SSE-S3).
    #[arg(long, value_enum, value_name = "ALGORITHM")]
    pub sse: Option<Sse>,

    /// The KMS key for --sse aws:kms: key id, key ARN, alias name (alias/NAME)
    /// or alias ARN. Without it S3 uses the AWS managed key aws/s3.
    #[arg(long, value_name = "KEY")]
    pub sse_kms_key_id: Option<String>,

    /// Format of the objects written to file:// and s3://: gzipped JSON Lines,
    /// or Parquet (typed columns from the record contract, zstd, one row
    /// group per object; unknown fields in a JSON text column). Reading
    /// recognises either by content.
    #[arg(long = "format", value_enum, default_value_t = LakeFormat::Jsonl, value_name = "FORMAT")]
    pub format: LakeFormat,

    /// How --format parquet encodes its decimal columns: portable (PLAIN, and
    /// DELTA_BINARY_PACKED for the oxygen and nitrogen levels: read by every
    /// engine, Athena and Trino included) or compact (BYTE_STREAM_SPLIT, about
    /// 0.85 of the bytes, but Athena/Trino cannot read it on integer columns;
    /// DuckDB, pyarrow and recent Spark can).
    #[arg(long, value_enum, default_value_t = ParquetNumbers::Portable, value_name = "HOW")]
    pub parquet_numbers: ParquetNumbers,
}

/// `--parquet-numbers`: the encoding of the decimal columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ParquetNumbers {
    /// PLAIN (DELTA_BINARY_PACKED for the gas levels that delta-encode
    /// smaller): every Parquet reader, Athena and Trino included.
    #[default]
    Portable,
    /// BYTE_STREAM_SPLIT on the INT32 decimals (Parquet format 2.11, 2024):
    /// smaller, but Trino (so Athena) reads that encoding on floats only.
    Compact,
}

/// `--format`: what a lake object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LakeFormat {
    /// JSON Lines, gzipped unless --no-gzip (`.jsonl.gz`).
    #[default]
    Jsonl,
    /// Apache Parquet (`.parquet`).
    Parquet,
}

/// `--sse`: the S3 server-side encryption algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sse {
    /// SSE-KMS: keys in AWS KMS.
    #[value(name = "aws:kms")]
    Kms,
    /// SSE-S3: keys managed by S3.
    #[value(name = "AES256")]
    Aes256,
}

impl LakeArgs {
    /// Flags that do not fit the destination are usage errors.
    pub fn check(&self, to: &super::Location, no_gzip: bool) -> anyhow::Result<()> {
        use crate::app::usage;
        let s3 = matches!(to, super::Location::S3 { .. });
        if self.format == LakeFormat::Parquet {
            if !s3 && !matches!(to, super::Location::Lake(_)) {
                return Err(usage(
                    "--format parquet applies to lake writes: --to file://DIR or s3://BUCKET/PREFIX",
                ));
            }
            if no_gzip {
                return Err(usage(
                    "--no-gzip applies to --format jsonl (Parquet pages are zstd-compressed)",
                ));
            }
        }
        if self.sse.is_some() && !s3 {
            return Err(usage(
                "--sse applies to --to s3://BUCKET/PREFIX (encryption at rest of a local lake is the file system's)",
            ));
        }
        if self.sse_kms_key_id.is_some() && self.sse != Some(Sse::Kms) {
            return Err(usage("--sse-kms-key-id needs --sse aws:kms"));
        }
        Ok(())
    }
}

/// Writes one object atomically and durably: a temporary file beside it,
/// synced, renamed over any object of the same name, then the directory
/// synced, so that an object reported written survives a power loss. On any
/// failure (a full disk) the temporary file is removed and the error names
/// the object's path.
pub fn write_object(dir: &Path, name: &str, body: &[u8]) -> std::io::Result<()> {
    write_object_with(dir, name, body, |file, body| file.write_all(body))
}

/// [`write_object`] with the body written by `write` (a test simulates a full disk).
fn write_object_with(
    dir: &Path,
    name: &str,
    body: &[u8],
    write: impl FnOnce(&mut std::fs::File, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let path = dir.join(name);
    let named = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
    };
    let (Some(parent), Some(file_name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::other(format!("{name}: not an object name")));
    };
    std::fs::create_dir_all(parent).map_err(named)?;
    let file_name = file_name.to_string_lossy();
    let tmp = parent.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        write(&mut file, body)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = renamed {
        // Nothing half-written is left behind (it would also fill the disk).
        let _ = std::fs::remove_file(&tmp);
        return Err(named(e));
    }
    // The rename is durable only once the directory is.
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(named)
}

/// A lake to read must exist: a missing one is a usage error (exit 2), said
/// before anything is read or summed up.
pub fn check_readable(dir: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(crate::app::usage(format!(
            "file://{}: not a directory",
            dir.display()
        ))),
        Err(e) => Err(crate::app::usage(format!("file://{}: {e}", dir.display()))),
    }
}

/// Every object under `dir`, as keys relative to it with `/`, in key order
/// (byte order, as S3 lists them). Hidden (temporary) files are left out.
pub fn list(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(root, &path, out)?;
            } else {
                let Ok(rel) = path.strip_prefix(root) else {
                    continue;
                };
                let key: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(key.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort_unstable();
    Ok(out)
}

/// Reads the lake on its own thread, object by object in key order. The
/// handle tells the main loop whether the thread ended or died.
pub fn spawn_reader(
    dir: PathBuf,
    range: Range,
    tx: Sender<Msg>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ship-lake".into())
        .spawn(move || {
            let mut range = range;
            if let Err(e) = read_lake(&dir, &mut range, &tx, &stop) {
                let _ = tx.blocking_send(Msg::Fatal(e));
            }
        })
}

/// Reads the lake's objects merged by event time ([`ObjectMerge`]).
fn read_lake(
    dir: &Path,
    range: &mut Range,
    tx: &Sender<Msg>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let keys =
        list(dir).map_err(|e| anyhow::anyhow!("cannot list file://{}: {e}", dir.display()))?;
    let keys: Vec<String> = keys.into_iter().filter(|k| range.wants_object(k)).collect();
    let mut merge = ObjectMerge::new(keys, range.event_time());
    loop {
        while let Some(key) = merge.next_to_open() {
            let path = dir.join(&key);
            let bytes = std::fs::read(&path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let name = path.display().to_string();
            merge.opened(ObjectLines::open(&name, decoder(bytes)), range);
        }
        let Some(msg) = merge.next(range) else {
            return Ok(());
        };
        if stop.load(Ordering::Relaxed) || tx.blocking_send(msg).is_err() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enospc() -> std::io::Error {
        std::io::Error::from_raw_os_error(28)
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut all = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            all.push(e.unwrap().file_name().to_string_lossy().into_owned());
        }
        all
    }

    #[test]
    fn a_full_disk_leaves_no_temporary_file_and_names_the_object() {
        let dir = tempfile::tempdir().unwrap();
        let name = "2026/11/27/03/20261127T030000Z-0123abcd.jsonl.gz";
        let err = write_object_with(dir.path(), name, b"0123456789", |f, body| {
            // Half the body goes in, then the disk is full.
            f.write_all(&body[..5])?;
            Err(enospc())
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&dir.path().join(name).display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("No space left on device"), "{msg}");
        let hour = dir.path().join("2026/11/27/03");
        assert!(files_in(&hour).is_empty(), "{:?}", files_in(&hour));
    }

    #[test]
    fn an_object_is_renamed_into_place_whole() {
        let dir = tempfile::tempdir().unwrap();
        write_object(dir.path(), "2026/11/27/03/a.jsonl", b"{}\n").unwrap();
        write_object(dir.path(), "2026/11/27/03/a.jsonl", b"{\"a\":1}\n").unwrap();
        let hour = dir.path().join("2026/11/27/03");
        assert_eq!(files_in(&hour), vec!["a.jsonl".to_string()]);
        assert_eq!(std::fs::read(hour.join("a.jsonl")).unwrap(), b"{\"a\":1}\n");
        assert_eq!(list(dir.path()).unwrap(), vec!["2026/11/27/03/a.jsonl"]);
    }

    #[test]
    fn a_missing_lake_to_read_is_a_usage_error() {
        let err = check_readable(Path::new("/nonexistent/lake")).unwrap_err();
        assert_eq!(crate::app::exit_of(&err), Some(crate::app::Exit::Usage));
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(check_readable(file.path()).is_err());
        assert!(check_readable(tempfile::tempdir().unwrap().path()).is_ok());
    }
}
