//! Output for humans (tables) and machines (`--json`).

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

pub fn table<const N: usize>(headers: [&str; N], rows: impl IntoIterator<Item = [String; N]>) -> String {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_HORIZONTAL_ONLY).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(headers);
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// JSON the application already rendered (a stored read model), printed as [`json`] prints.
pub fn json_text(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    stdout_written(out.write_all(text.as_bytes()).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush()))
}

/// Whether a read may be served from a stored model: unless the (hidden) `--recompute` asks.
pub fn reuse(recompute: bool) -> evident_app::derived::Reuse {
    if recompute { evident_app::derived::Reuse::Recompute } else { evident_app::derived::Reuse::Stored }
}

/// Writes `value` as compact JSON (one line: `--json` output is for programs; `jq .` shows it
/// indented) straight to stdout, through a buffer: a readiness drill-down is megabytes, and
/// building it as one string first costs more than computing it.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    stdout_written(
        serde_json::to_writer(&mut out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush()),
    )
}

/// A write to stdout as a command's result: a reader that has gone (`evident … | head`) ends the
/// command quietly, as command-line tools do.
fn stdout_written(written: std::io::Result<()>) -> anyhow::Result<()> {
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(anyhow::anyhow!("cannot write to stdout: {e}")),
    }
}

/// Writes one line to stdout. When the reader has gone (`evident … | head`), stop quietly, as
/// command-line tools do, instead of panicking.
pub fn line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// `println!` that stops quietly on a closed pipe.
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::line(format_args!($($arg)*)) };
}
pub(crate) use say;
