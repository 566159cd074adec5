//! Printing listings as aligned text for people or JSON for scripts.

use serde::Serialize;

/// Prints `rows` as JSON (with `--json`) or as an aligned table with `headers`.
pub fn listing<T: Serialize>(
    json: bool,
    items: &[T],
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(), crate::run::CliError> {
    if json {
        println!("{}", serde_json::to_string_pretty(items)?);
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
    println!("{}", line(headers.iter().map(|h| h.to_string()).collect()));
    for r in rows {
        println!("{}", line(r));
    }
    if items.is_empty() {
        println!("(none)");
    }
    Ok(())
}

/// Prints one value as JSON, or a sentence for people.
pub fn summary<T: Serialize>(
    json: bool,
    value: &T,
    text: &str,
) -> Result<(), crate::run::CliError> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{text}");
    }
    Ok(())
}

pub fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}
