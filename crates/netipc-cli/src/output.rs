//! Writing results: tables for people, JSON for scripts, and standard
//! output that may be closed early (`netipc ls | head`) without a panic.

use comfy_table::{Cell, CellAlignment, LineStyle, Table, TableStyle};
use std::io::Write;

/// Writes `text` and a newline to standard output. A closed pipe ends the
/// process quietly, as `head` expects; other write errors are ignored.
pub fn line(text: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(text.as_ref().as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Prints `value` as one line of JSON.
pub fn json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(s) => line(s),
        Err(e) => eprintln!("error: cannot encode the JSON output: {e}"),
    }
}

/// The tool's plain style: columns, and a rule under the header.
const STYLE: TableStyle = TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

/// An empty table with `headers`, in the tool's plain style.
pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(STYLE);
    t.set_header(headers.iter().map(Cell::new).collect::<Vec<_>>());
    t
}

/// Right-aligns the columns at `indexes` (numbers).
pub fn align_right(t: &mut Table, indexes: &[usize]) {
    for &i in indexes {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Prints a table.
pub fn print_table(t: &Table) {
    line(t.to_string());
}

/// A byte count as people read it: `512 B`, `64 KiB`, `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if f < KIB * KIB {
        trim_unit(f / KIB, "KiB")
    } else if f < KIB * KIB * KIB {
        trim_unit(f / (KIB * KIB), "MiB")
    } else {
        trim_unit(f / (KIB * KIB * KIB), "GiB")
    }
}

fn trim_unit(v: f64, unit: &str) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

/// At most `max` characters of `s`, with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_use_binary_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(65536), "64 KiB");
        assert_eq!(bytes(1536 * 1024), "1.5 MiB");
        assert_eq!(bytes(64 << 20), "64 MiB");
    }

    #[test]
    fn long_text_is_clipped_with_an_ellipsis() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("a long piece of text", 6), "a lon…");
        assert_eq!(clip("café-api", 5), "café…");
    }
}
