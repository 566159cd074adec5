//! HUBmis links the generic upserts cannot keep true: tutor-group membership (a pupil is in
//! one tutor group, read from the group's own student list), pupils who left, a pupil's
//! session marks over the days a sync reads, a contact's links to pupils, and contact phones
//! (which only HUBmis's per-pupil route carries).

use std::collections::{BTreeSet, HashSet};

use chrono::NaiveDate;
use rusqlite::params_from_iter;
use schooldesk_domain::{AttendanceMark, Enrollment, Guardian, StudentGuardian, System};

use crate::codec::{date, owned_text, text};
use crate::error::{CacheError, Result};
use crate::store::{Cache, CacheTx};

const HUBMIS: &str = "hubmis";

fn hubmis_only(system: System, what: &str) -> Result<()> {
    if system != System::Hubmis {
        return Err(CacheError::InvalidInput(format!(
            "{what} from {} was given to the HUBmis link store.",
            system.display_name()
        )));
    }
    Ok(())
}

impl CacheTx<'_> {
    /// Makes `rows` the complete membership of one HUBmis tutor group, and each member's only
    /// tutor group: a pupil moved here leaves the roster of the group they were in, and their
    /// homeroom becomes this group.
    pub fn hubmis_set_tutor_group(&self, group: &str, rows: &[Enrollment]) -> Result<usize> {
        if let Some(e) = rows
            .iter()
            .find(|e| e.system != System::Hubmis || e.section_source_id != group)
        {
            return Err(CacheError::InvalidInput(format!(
                "A roster row of section {} of {} was given as a member of HUBmis tutor \
                 group {group}.",
                e.section_source_id, e.system
            )));
        }
        self.conn.execute(
            "DELETE FROM enrollments WHERE system = ?1 AND section_source_id = ?2",
            (HUBMIS, group),
        )?;
        {
            let mut elsewhere = self.conn.prepare_cached(
                "DELETE FROM enrollments WHERE system = ?1 AND student_source_id = ?2",
            )?;
            let mut homeroom = self.conn.prepare_cached(
                "UPDATE students SET homeroom = ?3 WHERE system = ?1 AND source_id = ?2 \
                 AND homeroom IS NOT ?3",
            )?;
            for e in rows {
                elsewhere.execute((HUBMIS, &e.student_source_id))?;
                homeroom.execute((HUBMIS, &e.student_source_id, group))?;
            }
        }
        self.upsert_enrollments(rows)
    }

    /// Pupils the cache holds as current whose ids are not in `current` (the complete list of
    /// current pupils just read) have left: they are marked inactive and taken off every tutor
    /// group and off the registers from `today` on. Their unsent marks taken at the desk are
    /// kept. Returns the leavers' ids.
    ///
    /// An empty `current` changes nothing: a school does not lose every pupil at once, a
    /// broken reply does.
    pub fn hubmis_remove_leavers(
        &self,
        current: &[String],
        today: NaiveDate,
    ) -> Result<Vec<String>> {
        if current.is_empty() {
            return Ok(Vec::new());
        }
        let current: HashSet<&str> = current.iter().map(String::as_str).collect();
        let cached: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT source_id FROM students WHERE system = ?1 AND active = 1",
            )?;
            let rows = stmt.query_map([HUBMIS], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let leavers: Vec<String> = cached
            .into_iter()
            .filter(|id| !current.contains(id.as_str()))
            .collect();
        for id in &leavers {
            self.conn.execute(
                "UPDATE students SET active = 0, homeroom = NULL \
                 WHERE system = ?1 AND source_id = ?2",
                (HUBMIS, id),
            )?;
            self.conn.execute(
                "DELETE FROM enrollments WHERE system = ?1 AND student_source_id = ?2",
                (HUBMIS, id),
            )?;
            self.conn.execute(
                "DELETE FROM attendance_marks WHERE system = ?1 AND student_source_id = ?2 \
                 AND date >= ?3 AND state = 'synced'",
                params_from_iter([text(HUBMIS), text(id), owned_text(date(today))]),
            )?;
        }
        Ok(leavers)
    }

    /// Makes `marks` a pupil's complete synced register from `from` to `to` (inclusive): a
    /// mark the system no longer has is removed, a changed one updated. Marks taken at the desk
    /// and not yet on the system are left alone.
    pub fn hubmis_replace_marks(
        &self,
        student: &str,
        from: NaiveDate,
        to: NaiveDate,
        marks: &[AttendanceMark],
    ) -> Result<usize> {
        if let Some(m) = marks
            .iter()
            .find(|m| m.source.system != System::Hubmis || m.student_source_id != student)
        {
            return Err(CacheError::InvalidInput(format!(
                "A mark of student {} of {} was given as a HUBmis mark of student {student}.",
                m.student_source_id, m.source.system
            )));
        }
        let keep: HashSet<&str> = marks.iter().map(|m| m.source.source_id.as_str()).collect();
        let stored: Vec<(i64, Option<String>)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, source_id FROM attendance_marks WHERE system = ?1 \
                 AND student_source_id = ?2 AND date >= ?3 AND date <= ?4 AND state = 'synced'",
            )?;
            let rows = stmt.query_map(
                params_from_iter([
                    text(HUBMIS),
                    text(student),
                    owned_text(date(from)),
                    owned_text(date(to)),
                ]),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut gone = self
            .conn
            .prepare_cached("DELETE FROM attendance_marks WHERE id = ?1")?;
        for (id, source_id) in stored {
            if !source_id.as_deref().is_some_and(|s| keep.contains(s)) {
                gone.execute([id])?;
            }
        }
        self.upsert_attendance_marks(marks)
    }

    /// Makes `links` the complete list of one HUBmis contact's pupils. Returns the pupils
    /// whose link to this contact was added, removed or changed.
    pub fn hubmis_replace_contact_links(
        &self,
        contact: &str,
        links: &[StudentGuardian],
    ) -> Result<Vec<String>> {
        if let Some(l) = links
            .iter()
            .find(|l| l.system != System::Hubmis || l.guardian_source_id != contact)
        {
            return Err(CacheError::InvalidInput(format!(
                "A link of guardian {} of {} was given as a link of HUBmis contact {contact}.",
                l.guardian_source_id, l.system
            )));
        }
        let before: Vec<StudentGuardian> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT student_source_id, relationship, is_primary, can_pick_up, \
                 emergency_contact FROM student_guardians \
                 WHERE system = ?1 AND guardian_source_id = ?2",
            )?;
            let rows = stmt.query_map((HUBMIS, contact), |r| {
                Ok(StudentGuardian {
                    system: System::Hubmis,
                    student_source_id: r.get(0)?,
                    guardian_source_id: contact.to_string(),
                    relationship: r.get(1)?,
                    is_primary: r.get(2)?,
                    can_pick_up: r.get(3)?,
                    emergency_contact: r.get(4)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut changed: BTreeSet<String> = BTreeSet::new();
        for b in &before {
            if !links.contains(b) {
                changed.insert(b.student_source_id.clone());
            }
        }
        for l in links {
            if !before.contains(l) {
                changed.insert(l.student_source_id.clone());
            }
        }
        self.conn.execute(
            "DELETE FROM student_guardians WHERE system = ?1 AND guardian_source_id = ?2",
            (HUBMIS, contact),
        )?;
        self.upsert_student_guardians(links)?;
        Ok(changed.into_iter().collect())
    }

    /// Stores HUBmis contacts; a contact read without phones (the contact list carries none)
    /// keeps the phone stored from the per-pupil route.
    pub fn hubmis_upsert_contacts(&self, rows: &[Guardian]) -> Result<usize> {
        let mut filled: Vec<Guardian> = Vec::with_capacity(rows.len());
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT phone FROM guardians WHERE system = ?1 AND source_id = ?2",
            )?;
            for g in rows {
                hubmis_only(g.source.system, "A contact")?;
                let mut g = g.clone();
                if g.phone.is_none() {
                    g.phone = stmt
                        .query_map((HUBMIS, &g.source.source_id), |r| {
                            r.get::<_, Option<String>>(0)
                        })?
                        .next()
                        .transpose()?
                        .flatten();
                }
                filled.push(g);
            }
        }
        self.upsert_guardians(&filled)
    }
}

impl Cache {
    /// See [`CacheTx::hubmis_set_tutor_group`].
    pub fn hubmis_set_tutor_group(&self, group: &str, rows: &[Enrollment]) -> Result<usize> {
        self.with_transaction(|tx| tx.hubmis_set_tutor_group(group, rows))
    }

    /// See [`CacheTx::hubmis_remove_leavers`].
    pub fn hubmis_remove_leavers(
        &self,
        current: &[String],
        today: NaiveDate,
    ) -> Result<Vec<String>> {
        self.with_transaction(|tx| tx.hubmis_remove_leavers(current, today))
    }
}
