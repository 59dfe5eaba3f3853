use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};

const WRITE_BUFFER: usize = 128 * 1024;

/// Where a tool writes its records: stdout (`-`) or a file, block-buffered,
/// or line-buffered when stdout is a terminal or `--line-buffered` is given.
///
/// Tools call [`Output::end_record`] after each record and [`Output::flush`]
/// when their input would block, so live pipes see output promptly while
/// batch runs write in large blocks.
pub struct Output {
    inner: BufWriter<Box<dyn Write + Send>>,
    line_buffered: bool,
}

impl Output {
    /// Opens `-` (stdout) or a file path for writing.
    pub fn open(path: Option<&str>, line_buffered: bool) -> io::Result<Output> {
        match path {
            None | Some("-") => Ok(Output::stdout(line_buffered)),
            Some(p) => {
                let f = File::create(p)
                    .map_err(|e| io::Error::new(e.kind(), format!("cannot create {p}: {e}")))?;
                Ok(Output {
                    inner: BufWriter::with_capacity(WRITE_BUFFER, Box::new(f)),
                    line_buffered,
                })
            }
        }
    }

    pub fn stdout(line_buffered: bool) -> Output {
        super::source::grow_pipe(1);
        let stdout = io::stdout();
        let line_buffered = line_buffered || stdout.is_terminal();
        Output {
            inner: BufWriter::with_capacity(WRITE_BUFFER, Box::new(stdout)),
            line_buffered,
        }
    }

    /// Call after each complete record: flushes when line-buffered.
    #[inline]
    pub fn end_record(&mut self) -> io::Result<()> {
        if self.line_buffered {
            self.inner.flush()
        } else {
            Ok(())
        }
    }

    pub fn is_line_buffered(&self) -> bool {
        self.line_buffered
    }
}

impl Write for Output {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
