//! What a run has done so far, and the status line that shows it on a terminal.
//!
//! The pipeline bumps process-wide counters (chunks, pages, rows, bytes; the API's own counters
//! are read from the run's [`ApiStats`]). When stderr is a terminal, `main` starts a
//! [`StatusLine`]: one line at the bottom, redrawn in place a few times a second, and log lines
//! go through its [`StatusWriter`], which clears the line, writes the record, then redraws it,
//! so the two never interleave on one line. When stderr is not a terminal (Airflow, a pipe)
//! nothing of it is drawn and logs are written as they are.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::genesys::ApiStats;
use crate::state::ChunkOutcome;

/// Counters of the run in this process.
#[derive(Debug, Default)]
pub struct Progress {
    chunks_total: AtomicU64,
    chunks_done: AtomicU64,
    pages: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
    api: Mutex<Option<Arc<ApiStats>>>,
    started: OnceLock<Instant>,
}

/// The process's progress counters.
pub fn global() -> &'static Progress {
    static P: OnceLock<Progress> = OnceLock::new();
    P.get_or_init(Progress::default)
}

impl Progress {
    /// The run's API counters, read when the status is drawn.
    pub fn attach_api(&self, stats: Arc<ApiStats>) {
        *self.api.lock().expect("progress api") = Some(stats);
    }

    /// The number of chunks the run will do (planning is over: the clock for the ETA starts).
    pub fn set_chunks(&self, n: usize) {
        self.chunks_total.store(n as u64, Ordering::Relaxed);
        let _ = self.started.set(Instant::now());
    }

    /// A page was decoded into `rows` rows (over all tables).
    pub fn page(&self, rows: u64) {
        self.pages.fetch_add(1, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// Rows that arrive without a page (a merge's chunks, written before).
    pub fn rows(&self, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// A chunk finished (or was found done by an interrupted attempt).
    pub fn chunk_done(&self, outcome: &ChunkOutcome) {
        self.chunks_done.fetch_add(1, Ordering::Relaxed);
        let bytes: u64 = outcome.files.iter().map(|f| f.bytes).sum();
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// One line: `chunks 3/10 · pages 42 · rows 12,345 · 4.2 MB · requests 57 · retries 1 · ETA 0:12`.
    pub fn status(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (total, done) = (get(&self.chunks_total), get(&self.chunks_done));
        if total == 0 {
            return "planning…".into();
        }
        let (requests, retries, limited) = match &*self.api.lock().expect("progress api") {
            Some(a) => {
                let s = a.snapshot();
                (s.requests, s.retries, s.rate_limited)
            }
            None => (0, 0, 0),
        };
        let eta = match (self.started.get(), done) {
            (Some(t0), d) if d > 0 && d < total => {
                let per_chunk = t0.elapsed().as_secs_f64() / d as f64;
                clock((per_chunk * (total - d) as f64) as u64)
            }
            (_, d) if d >= total => "0:00".into(),
            _ => "--:--".into(),
        };
        let mut line = format!(
            "chunks {done}/{total} · pages {} · rows {} · {:.1} MB · requests {requests} · retries {retries}",
            get(&self.pages),
            thousands(get(&self.rows)),
            get(&self.bytes) as f64 / 1e6,
        );
        if limited > 0 {
            line.push_str(&format!(" · 429s {limited}"));
        }
        line.push_str(&format!(" · ETA {eta}"));
        line
    }
}

/// The line cut to one row of the terminal: a line that wraps leaves its first rows behind at
/// every redraw (clearing reaches only the cursor's row).
fn fit(line: String, width: Option<usize>) -> String {
    match width {
        Some(w) if w > 1 && line.chars().count() >= w => line.chars().take(w - 1).collect(),
        _ => line,
    }
}

/// The terminal's width in columns, when stderr is one.
#[cfg(unix)]
fn width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes a `winsize` into the struct given, nothing else.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn width() -> Option<usize> {
    None
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds as `m:ss` (or `h:mm:ss`).
fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The status line at the bottom of a terminal.
pub struct StatusLine {
    /// Held while anything is written to stderr, so a redraw never lands inside a log line.
    shown: Mutex<bool>,
    stopped: AtomicBool,
}

/// Clears the current line and returns the cursor to its start.
const CLEAR: &str = "\r\x1b[2K";

impl StatusLine {
    /// Starts redrawing the line every `every` (in a background thread) until [`finish`].
    ///
    /// [`finish`]: StatusLine::finish
    pub fn start(every: Duration) -> Arc<StatusLine> {
        let line = Arc::new(StatusLine {
            shown: Mutex::new(false),
            stopped: AtomicBool::new(false),
        });
        let bg = line.clone();
        std::thread::Builder::new()
            .name("status-line".into())
            .spawn(move || {
                while !bg.stopped.load(Ordering::Relaxed) {
                    bg.redraw();
                    std::thread::sleep(every);
                }
            })
            .expect("spawn the status-line thread");
        line
    }

    fn redraw(&self) {
        let mut shown = self.shown.lock().expect("status line");
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{CLEAR}{}", fit(global().status(), width()));
        let _ = err.flush();
        *shown = true;
    }

    /// Draws the line once more (its final figures), ends it, and stops redrawing.
    pub fn finish(&self) {
        let mut shown = self.shown.lock().expect("status line");
        if self.stopped.swap(true, Ordering::Relaxed) {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{CLEAR}{}", fit(global().status(), width()));
        let _ = err.flush();
        *shown = false;
    }
}

/// A `tracing` writer that keeps log records and the status line apart.
#[derive(Clone)]
pub struct StatusWriter {
    pub line: Arc<StatusLine>,
}

impl Write for StatusWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let shown = self.line.shown.lock().expect("status line");
        let mut err = std::io::stderr().lock();
        if *shown {
            err.write_all(CLEAR.as_bytes())?;
        }
        err.write_all(buf)?;
        if *shown && !self.line.stopped.load(Ordering::Relaxed) {
            write!(err, "{}", global().status())?;
        }
        err.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StatusWriter {
    type Writer = StatusWriter;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_names_every_figure() {
        let p = Progress::default();
        assert_eq!(p.status(), "planning…");
        p.set_chunks(4);
        p.page(1200);
        p.page(34);
        p.chunk_done(&ChunkOutcome {
            files: vec![crate::sink::FileWritten {
                table: "t".into(),
                path: "t/p".into(),
                partition: "2026-11-01".into(),
                rows: 1234,
                bytes: 2_500_000,
                e_tag: None,
            }],
            ..Default::default()
        });
        let s = p.status();
        assert!(
            s.starts_with(
                "chunks 1/4 · pages 2 · rows 1,234 · 2.5 MB · requests 0 · retries 0 · ETA "
            ),
            "{s}"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(clock(3725), "1:02:05");
        assert_eq!(clock(65), "1:05");
    }

    #[test]
    fn a_line_is_cut_to_one_row_of_the_terminal() {
        let line = "chunks 3/10 · pages 42 · rows 12,345".to_string();
        assert_eq!(fit(line.clone(), None), line);
        assert_eq!(fit(line.clone(), Some(200)), line);
        assert_eq!(fit(line.clone(), Some(16)), "chunks 3/10 · p");
        assert_eq!(fit(line, Some(16)).chars().count(), 15);
    }
}
