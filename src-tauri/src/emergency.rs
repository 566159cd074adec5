//! The emergency roll: everyone who may be on site today, read from the cache alone (a fire
//! drill has no network), for the screen that ticks people off as they are accounted for.
//!
//! Who is listed is the export crate's emergency list ([`build::emergency_roll`]), so the
//! screen and the printed list never disagree. Ticks are the screen's, never written here.
//! Medical alerts (HUBmis, only where the school turned them on for the connection) are
//! shown beside the name; every read that shows one is written to the access log, as a view
//! of learning support is.

use chrono::{DateTime, Local, NaiveDate, Utc};
use schooldesk_cache::allow_list::medical_alerts;
use schooldesk_cache::{AccessAction, NewAccess};
use schooldesk_domain::System;
use schooldesk_export::audit::signed_in_user;
use schooldesk_export::build::{self, RollStatus};
use schooldesk_export::ExportError;
use schooldesk_sync::persons::person_id;
use schooldesk_sync::reads::qualified_id;
use schooldesk_sync::Desk;
use serde::Serialize;
use serde_json::Value;
use tauri::State;
use ts_rs::TS;

use crate::error::AppError;
use crate::Shell;

/// What the access log files a view of the roll's medical alerts under.
pub const MEDICAL_ACCESS_WHAT: &str = "emergency roll medical alerts";

/// Longest section id accepted: anything longer was not picked from a list.
const MAX_ID_LEN: usize = 300;

/// Longest text kept of one medical alert: enough for a condition and its instructions.
const MAX_ALERT_LEN: usize = 200;

/// Where a child on the roll stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RollState {
    Present,
    Late,
    /// Unmarked in a register that is taken: may be on site.
    NotMarked,
    /// The group's register is not taken yet: listed because they are on roll.
    NoRegister,
}

impl From<RollStatus> for RollState {
    fn from(s: RollStatus) -> Self {
        match s {
            RollStatus::Present => RollState::Present,
            RollStatus::Late => RollState::Late,
            RollStatus::NotMarked => RollState::NotMarked,
            RollStatus::NoRegister => RollState::NoRegister,
        }
    }
}

/// One contact of a child on the roll (each once across the child's systems).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RollContactView {
    pub name: String,
    pub relationship: Option<String>,
    pub phone: Option<String>,
    /// `false` when any system says they may NOT collect the child; null when none says.
    pub may_collect: Option<bool>,
}

/// One child who may be on site today.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RollPerson {
    /// The person id (`PersonRow.id`): `ext:<district id>` or `system:id`.
    pub id: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    /// The homeroom or tutor group, as the printed list names it.
    pub group: String,
    /// `system:id` of that group (what a document request takes), or empty for none.
    pub group_id: String,
    pub state: RollState,
    /// The state in words ("present", "not marked", …).
    pub state_label: String,
    pub contacts: Vec<RollContactView>,
    /// Medical alerts, one line each; empty unless the school turned them on.
    pub medical: Vec<String>,
    /// `system:id` of each of the child's records.
    pub records: Vec<String>,
}

/// Everyone who may be on site today, from the cache.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct EmergencyRoll {
    /// The school day, `YYYY-MM-DD`, in the school's time zone.
    pub date: String,
    pub school: String,
    /// RFC 3339, UTC: the newest copy of the data used; null when nothing was read.
    pub data_as_of: Option<String>,
    /// The section asked for (`system:id`), or null for everyone.
    pub section: Option<String>,
    /// By group, then family and given name.
    pub people: Vec<RollPerson>,
    /// Children left out because they are marked absent or excused today.
    pub absent: u32,
    /// Groups whose register is not taken yet (their children are all listed).
    pub groups_without_register: u32,
    /// A connection has medical alerts turned on (so their absence means none recorded).
    pub medical_alerts_on: bool,
    /// The printed list's line: how many are listed, on what basis, how many left out.
    pub summary: String,
}

/// A section id as typed or picked: trimmed; empty means everyone.
fn section_arg(section: Option<String>) -> Result<Option<String>, AppError> {
    let Some(raw) = section else {
        return Ok(None);
    };
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > MAX_ID_LEN || v.chars().any(char::is_control) {
        return Err(ExportError::InvalidInput(
            "That is not a section Schooldesk knows. Pick the homeroom from the list on the \
             emergency roll, or leave it empty for everyone."
                .into(),
        )
        .into());
    }
    Ok(Some(v.to_string()))
}

/// Today at the school: in the time zone of the section's system (or of the first
/// connection that names one), else this computer's — as the CLI's emergency list does.
pub fn school_today(desk: &Desk, section: Option<&str>, now: DateTime<Utc>) -> NaiveDate {
    let system = section
        .and_then(|s| s.split_once(':'))
        .and_then(|(system, _)| system.parse::<System>().ok());
    let zone = desk
        .connections()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| system.is_none_or(|s| c.system == s))
        .find_map(|c| c.settings.time_zone.filter(|z| !z.trim().is_empty()));
    match zone.and_then(|z| z.trim().parse::<chrono_tz::Tz>().ok()) {
        Some(tz) => now.with_timezone(&tz).date_naive(),
        None => now.with_timezone(&Local).date_naive(),
    }
}

/// One medical condition as a line of text. HUBmis does not document the shape of
/// `medical_condition_severity`, so a plain string, or an object's condition (or name),
/// severity and note, whichever are there.
fn alert_line(v: &Value) -> Option<String> {
    fn word(v: Option<&Value>) -> Option<String> {
        match v? {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Object(o) => word(o.get("name").or_else(|| o.get("description"))),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    let line = match v {
        Value::String(_) => word(Some(v))?,
        Value::Object(o) => {
            let what = [
                "condition",
                "medical_condition",
                "name",
                "title",
                "description",
            ]
            .iter()
            .find_map(|k| word(o.get(*k)))?;
            let mut line = what;
            if let Some(severity) = word(o.get("severity")) {
                line.push_str(&format!(" ({severity})"));
            }
            if let Some(note) = ["note", "notes", "action", "instructions"]
                .iter()
                .find_map(|k| word(o.get(*k)))
            {
                line.push_str(&format!(" — {note}"));
            }
            line
        }
        _ => return None,
    };
    Some(line.chars().take(MAX_ALERT_LEN).collect())
}

/// The medical alerts kept on a HUBmis record, one line each.
fn alerts_of(student: &schooldesk_domain::Student) -> Vec<String> {
    match medical_alerts(student) {
        Some(Value::Array(items)) => items.iter().filter_map(alert_line).collect(),
        Some(other) => alert_line(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The roll for `section` (or everyone) on `today`, with medical alerts where a connection
/// has them on; a read that shows any is recorded in the access log at `now` (and if the log
/// refuses, the roll is not shown).
pub fn read_roll(
    desk: &Desk,
    section: Option<&str>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<EmergencyRoll, AppError> {
    let roll = build::emergency_roll(desk, section, today)?;
    let medical_systems: Vec<System> = desk
        .cache()
        .connections()
        .map_err(schooldesk_sync::DeskError::from)?
        .into_iter()
        .filter(|c| c.medical_alerts_enabled)
        .map(|c| c.system)
        .collect();
    let summary = roll.summary();
    let mut people = Vec::with_capacity(roll.listed());
    let mut with_alerts: Vec<String> = Vec::new();
    for group in roll.groups {
        for child in group.children {
            let first = child.first();
            let medical: Vec<String> = child
                .records
                .iter()
                .filter(|s| medical_systems.contains(&s.source.system))
                .flat_map(alerts_of)
                .collect();
            let records: Vec<String> = child
                .records
                .iter()
                .map(|s| qualified_id(s.source.system, &s.source.source_id))
                .collect();
            if !medical.is_empty() {
                with_alerts.extend(records.iter().cloned());
            }
            people.push(RollPerson {
                id: person_id(
                    first.source.system,
                    &first.source.source_id,
                    first.external_id.as_deref(),
                ),
                name: first.display_name(),
                given_name: first.given_name.clone(),
                family_name: first.family_name.clone(),
                group: group.name.clone(),
                group_id: group.id.clone(),
                state: child.status.into(),
                state_label: child.status.label().to_string(),
                contacts: child
                    .contacts
                    .into_iter()
                    .map(|c| RollContactView {
                        name: c.name,
                        relationship: c.relationship,
                        phone: c.phone,
                        may_collect: c.may_collect,
                    })
                    .collect(),
                medical,
                records,
            });
        }
    }
    people.sort_by(|a, b| {
        (
            a.group.as_str(),
            a.family_name.to_lowercase(),
            a.given_name.to_lowercase(),
        )
            .cmp(&(
                b.group.as_str(),
                b.family_name.to_lowercase(),
                b.given_name.to_lowercase(),
            ))
    });
    if !with_alerts.is_empty() {
        let shown = people.iter().filter(|p| !p.medical.is_empty()).count();
        desk.cache()
            .record_access(&NewAccess {
                at: now,
                action: AccessAction::View,
                what: MEDICAL_ACCESS_WHAT.into(),
                detail: format!(
                    "Emergency roll of {}: medical alerts of {shown} {} shown",
                    today.format("%Y-%m-%d"),
                    if shown == 1 { "student" } else { "students" }
                ),
                students: with_alerts,
                destination: None,
                by_whom: signed_in_user(),
            })
            .map_err(schooldesk_sync::DeskError::from)?;
    }
    Ok(EmergencyRoll {
        date: today.format("%Y-%m-%d").to_string(),
        school: roll.school,
        data_as_of: roll.data_as_of.map(|t| t.to_rfc3339()),
        section: section.map(str::to_string),
        people,
        absent: roll.absent as u32,
        groups_without_register: roll.unregistered_groups as u32,
        medical_alerts_on: !medical_systems.is_empty(),
        summary,
    })
}

/// Everyone who may be on site today (only `section`'s students when given), from the cache:
/// works with no network. Medical alerts shown are recorded in the access log.
#[tauri::command]
pub async fn emergency_roll(
    shell: State<'_, Shell>,
    section: Option<String>,
) -> Result<EmergencyRoll, AppError> {
    let section = section_arg(section)?;
    let desk = shell.desk()?;
    tauri::async_runtime::spawn_blocking(move || {
        let now = Utc::now();
        let today = school_today(&desk, section.as_deref(), now);
        read_roll(&desk, section.as_deref(), today, now)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn medical_alerts_read_whatever_shape_hubmis_sends() {
        assert_eq!(
            alert_line(&json!({"condition": "Epilepsy", "note": "rescue medication in office"})),
            Some("Epilepsy — rescue medication in office".into())
        );
        assert_eq!(
            alert_line(&json!({"medical_condition": {"id": 3, "name": "Asthma"},
                               "severity": {"id": 2, "name": "High"}})),
            Some("Asthma (High)".into())
        );
        assert_eq!(
            alert_line(&json!("Nut allergy")),
            Some("Nut allergy".into())
        );
        assert_eq!(alert_line(&json!({"id": 4})), None);
        assert_eq!(alert_line(&json!(null)), None);
        let long = alert_line(&json!("x".repeat(1000))).unwrap();
        assert_eq!(long.chars().count(), MAX_ALERT_LEN);
    }

    #[test]
    fn a_section_is_trimmed_and_empty_means_everyone() {
        assert_eq!(section_arg(None).unwrap(), None);
        assert_eq!(section_arg(Some("  ".into())).unwrap(), None);
        assert_eq!(
            section_arg(Some(" omniforge:hr-7a ".into())).unwrap(),
            Some("omniforge:hr-7a".into())
        );
        assert!(section_arg(Some("x".repeat(301))).is_err());
        assert!(section_arg(Some("a\nb".into())).is_err());
    }
}
