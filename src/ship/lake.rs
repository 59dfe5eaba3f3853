//! `file://DIR`: the local data lake, laid out exactly like the S3 one.

use super::objects::{decoder, ObjectLines, ObjectMerge, Range};
use super::Msg;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::mpsc::Sender;

/// Writes one object atomically (temporary file, then rename), replacing any
/// object of the same name.
pub fn write_object(dir: &Path, name: &str, body: &[u8]) -> std::io::Result<()> {
    let path = dir.join(name);
    let (Some(parent), Some(file_name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::other(format!("{name}: not an object name")));
    };
    std::fs::create_dir_all(parent)?;
    let file_name = file_name.to_string_lossy();
    let tmp = parent.join(format!(".{file_name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, &path)
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
    let mut merge = ObjectMerge::new(keys, range.time_field());
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
