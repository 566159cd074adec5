//! Printing listings as aligned text for people or JSON for scripts.

use serde::Serialize;

/// Prints `rows` as JSON (with `--json`) or as an aligned table with `headers`.
pub fn listing<T: Serialize>(
    json: bool,
    items: &[T],
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(), crate::run::CliError> {
    listing_part(json, items, headers, row, 0)
}

/// [`listing`] of the first part of a longer list: a table for people ends by saying how
/// many rows it `left_out` (scripts asked for the part with `--limit`, so JSON does not).
pub fn listing_part<T: Serialize>(
    json: bool,
    items: &[T],
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
    left_out: u64,
) -> Result<(), crate::run::CliError> {
    if json {
        out!("{}", serde_json::to_string_pretty(items)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    out!("{}", line(headers.iter().map(|h| h.to_string()).collect()));
    for r in rows {
        out!("{}", line(r));
    }
    if items.is_empty() && left_out == 0 {
        out!("(none)");
    }
    if left_out > 0 {
        out!("… and {left_out} more not shown (use --limit N to see more, or --json for all).");
    }
    Ok(())
}

/// The first `limit` of `items` (all when `None`), and how many were left out.
pub fn first<T>(mut items: Vec<T>, limit: Option<usize>) -> (Vec<T>, u64) {
    let total = items.len();
    if let Some(limit) = limit {
        items.truncate(limit);
    }
    let left_out = (total - items.len()) as u64;
    (items, left_out)
}

/// A listed item with its `id` first, for scripts that pass it back to another command.
#[derive(Serialize)]
pub struct WithId<'a, T: Serialize> {
    pub id: String,
    #[serde(flatten)]
    pub item: &'a T,
}

/// Prints one value as JSON, or a sentence for people.
pub fn summary<T: Serialize>(
    json: bool,
    value: &T,
    text: &str,
) -> Result<(), crate::run::CliError> {
    if json {
        out!("{}", serde_json::to_string_pretty(value)?);
    } else {
        out!("{text}");
    }
    Ok(())
}

pub fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Writes one line of the command's output. A closed pipe (`schooldesk students | head`)
/// means nobody reads any more: exit at once with success rather than panic; any other
/// failure to write is reported as one line and a failure.
pub fn write_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("could not write the output: {e}");
        std::process::exit(1);
    }
}
