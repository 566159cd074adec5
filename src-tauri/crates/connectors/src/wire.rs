//! Small decoding helpers shared by the wire types of the four systems.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Accepts a string, a number or null: systems disagree on whether ids and grades are numbers.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => Some(other.to_string()),
    })
}

/// Like [`opt_string`] for a required field.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_string(d)?.ok_or_else(|| serde::de::Error::custom("expected a string or a number"))
}

/// Reads the date forms the four systems use: `YYYY-MM-DD`, `YYYY-MM-DDT00:00:00`, RFC 3339
/// and PowerSchool's `MM/DD/YYYY`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s, "%m/%d/%Y").ok())
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|d| d.date())
        })
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|d| d.date_naive()))
        .or_else(|| {
            s.get(..10)
                .and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
        })
}

/// One way of writing a grade for every system: `"K"` for kindergarten, else the number
/// (`"7"`), as the US systems write it. Accepts `"0"`, `"KG"`, `"07"` and UK year groups
/// (`"Year 1"` is kindergarten, `"Year 8"` grade 7).
pub fn normalise_grade(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), "k" | "kg" | "kindergarten" | "0" | "00") {
        return Some("K".into());
    }
    if let Some(rest) = lower.strip_prefix("year") {
        let n: i32 = rest.trim().parse().ok()?;
        return (1..=13).contains(&n).then(|| label(n - 1));
    }
    let n: i32 = lower.trim_start_matches("grade").trim().parse().ok()?;
    (0..=12)
        .contains(&n)
        .then(|| label(n))
        .or_else(|| Some(t.to_string()))
}

fn label(grade: i32) -> String {
    if grade == 0 {
        "K".into()
    } else {
        grade.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_read_alike_across_systems() {
        for (raw, want) in [
            ("K", "K"),
            ("0", "K"),
            ("Year 1", "K"),
            ("Year 8", "7"),
            ("07", "7"),
            ("12", "12"),
            ("Grade 3", "3"),
        ] {
            assert_eq!(normalise_grade(raw).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(normalise_grade(""), None);
    }

    #[test]
    fn reads_every_date_form() {
        let d = NaiveDate::from_ymd_opt(2015, 2, 3).unwrap();
        for s in [
            "2015-02-03",
            "02/03/2015",
            "2015-02-03T00:00:00",
            "2015-02-03T10:00:00Z",
            "2015-02-03T10:00:00.000+01:00",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("soon"), None);
    }
}
