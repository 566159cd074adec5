//! Schools, students, guardians, sections and rosters.

use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{params_from_iter, Connection, Row};
use schooldesk_domain::{
    Enrollment, Guardian, School, Section, Source, Student, StudentGuardian, System,
};

use crate::codec::{
    boolean, get_opt_date, get_system, get_ts, opt_bool, opt_date, opt_text, text, ts,
};
use crate::error::{CacheError, Result};
use crate::rows::{self, Sourced};
use crate::store::{Cache, CacheTx};

impl Sourced for School {
    const TABLE: &'static str = "schools";
    const COLUMNS: &'static [&'static str] = &["name", "code"];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![text(&self.name), opt_text(&self.code)]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(School {
            source,
            name: row.get(4)?,
            code: row.get(5)?,
        })
    }
}

impl Sourced for Student {
    const TABLE: &'static str = "students";
    const COLUMNS: &'static [&'static str] = &[
        "external_id",
        "given_name",
        "family_name",
        "preferred_name",
        "date_of_birth",
        "grade",
        "school_source_id",
        "homeroom",
        "active",
    ];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            opt_text(&self.external_id),
            text(&self.given_name),
            text(&self.family_name),
            opt_text(&self.preferred_name),
            opt_date(self.date_of_birth),
            opt_text(&self.grade),
            opt_text(&self.school_source_id),
            opt_text(&self.homeroom),
            boolean(self.active),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(Student {
            source,
            external_id: row.get(4)?,
            given_name: row.get(5)?,
            family_name: row.get(6)?,
            preferred_name: row.get(7)?,
            date_of_birth: get_opt_date(row, 8)?,
            grade: row.get(9)?,
            school_source_id: row.get(10)?,
            homeroom: row.get(11)?,
            active: row.get(12)?,
        })
    }
}

impl Sourced for Guardian {
    const TABLE: &'static str = "guardians";
    const COLUMNS: &'static [&'static str] = &["given_name", "family_name", "phone", "email"];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            text(&self.given_name),
            text(&self.family_name),
            opt_text(&self.phone),
            opt_text(&self.email),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(Guardian {
            source,
            given_name: row.get(4)?,
            family_name: row.get(5)?,
            phone: row.get(6)?,
            email: row.get(7)?,
        })
    }
}

impl Sourced for Section {
    const TABLE: &'static str = "sections";
    const COLUMNS: &'static [&'static str] = &["school_source_id", "name", "code"];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            opt_text(&self.school_source_id),
            text(&self.name),
            opt_text(&self.code),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(Section {
            source,
            school_source_id: row.get(4)?,
            name: row.get(5)?,
            code: row.get(6)?,
        })
    }
}

/// What to list from [`Cache::students`]. `Default` lists every student.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudentQuery {
    /// Words typed by the person: each must match the start of a word of the given, family
    /// or preferred name or of the external id, ignoring case and accents ("jo smi" finds
    /// "John Smith", "zoe" finds "Zoë").
    pub search: Option<String>,
    pub system: Option<System>,
    /// Only students on this section's roster.
    pub section: Option<(System, String)>,
    /// At most this many (all when `None`), after skipping `offset`.
    pub limit: Option<usize>,
    pub offset: usize,
}

/// The FTS5 query for `search`: each word a quoted prefix, all required. Quoting makes
/// every character the person typed literal (no FTS syntax can be injected).
pub(crate) fn match_expression(search: &str) -> Option<String> {
    let words: Vec<String> = search
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" AND "))
}

const BY_NAME: &str = "ORDER BY t.family_name COLLATE NOCASE, t.given_name COLLATE NOCASE, \
                       t.system, t.source_id";

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The `WHERE` clause (and its parameters) a query selects students by, with the students
/// table as `t`: listing and counting share it.
pub(crate) fn student_filter(query: &StudentQuery) -> (String, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if let Some(expr) = query.search.as_deref().and_then(match_expression) {
        params.push(Value::Text(expr));
        clauses.push(format!(
            "t.id IN (SELECT rowid FROM students_search WHERE students_search MATCH ?{})",
            params.len()
        ));
    }
    if let Some(system) = query.system {
        params.push(Value::Text(system.as_str().into()));
        clauses.push(format!("t.system = ?{}", params.len()));
    }
    if let Some((system, section)) = &query.section {
        params.push(Value::Text(system.as_str().into()));
        let s = params.len();
        params.push(Value::Text(section.clone()));
        clauses.push(format!(
            "t.system = ?{s} AND EXISTS (SELECT 1 FROM enrollments e WHERE e.system = ?{s} \
             AND e.section_source_id = ?{} AND e.student_source_id = t.source_id)",
            s + 1
        ));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (filter, params)
}

pub(crate) fn students(conn: &Connection, query: &StudentQuery) -> Result<Vec<Student>> {
    let (filter, mut params) = student_filter(query);
    params.push(Value::Integer(query.limit.map_or(-1, to_i64)));
    params.push(Value::Integer(to_i64(query.offset)));
    let rest = format!(
        "{filter} {BY_NAME} LIMIT ?{} OFFSET ?{}",
        params.len() - 1,
        params.len()
    );
    rows::select::<Student>(conn, &rest, params_from_iter(params))
}

pub(crate) fn roster(conn: &Connection, system: System, section: &str) -> Result<Vec<Student>> {
    rows::select::<Student>(
        conn,
        &format!(
            "JOIN enrollments e ON e.system = t.system AND e.student_source_id = t.source_id \
             WHERE e.system = ?1 AND e.section_source_id = ?2 {BY_NAME}"
        ),
        (system.as_str(), section),
    )
}

fn link_from_row(row: &Row<'_>, start: usize) -> rusqlite::Result<StudentGuardian> {
    Ok(StudentGuardian {
        system: get_system(row, start)?,
        student_source_id: row.get(start + 1)?,
        guardian_source_id: row.get(start + 2)?,
        relationship: row.get(start + 3)?,
        is_primary: row.get(start + 4)?,
        can_pick_up: row.get(start + 5)?,
        emergency_contact: row.get(start + 6)?,
    })
}

pub(crate) fn guardians_of(
    conn: &Connection,
    system: System,
    student: &str,
) -> Result<Vec<(Guardian, StudentGuardian)>> {
    let sql = format!(
        "{} JOIN student_guardians sg ON sg.system = g.system AND sg.guardian_source_id = g.source_id \
         WHERE sg.system = ?1 AND sg.student_source_id = ?2 \
         ORDER BY sg.is_primary DESC, g.family_name COLLATE NOCASE, g.given_name COLLATE NOCASE, g.source_id",
        rows::select_from::<Guardian>("g").replacen(
            " FROM",
            ", sg.system, sg.student_source_id, sg.guardian_source_id, sg.relationship, \
             sg.is_primary, sg.can_pick_up, sg.emergency_contact FROM",
            1
        )
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map((system.as_str(), student), |row| {
        Ok((
            rows::from_row::<Guardian>(row)?,
            link_from_row(row, rows::width::<Guardian>())?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn enrollment_from_row(row: &Row<'_>) -> rusqlite::Result<Enrollment> {
    Ok(Enrollment {
        system: get_system(row, 0)?,
        section_source_id: row.get(1)?,
        student_source_id: row.get(2)?,
        grade_level: row.get(3)?,
        start_date: get_opt_date(row, 4)?,
        end_date: get_opt_date(row, 5)?,
        fetched_at: get_ts(row, 6)?,
    })
}

const ENROLLMENT_COLUMNS: &str =
    "system, section_source_id, student_source_id, grade_level, start_date, end_date, fetched_at";

fn require(field: &str, what: &str) -> Result<()> {
    if field.trim().is_empty() {
        return Err(CacheError::InvalidInput(format!("{what} is missing.")));
    }
    Ok(())
}

impl CacheTx<'_> {
    pub fn upsert_schools(&self, rows: &[School]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    pub fn upsert_students(&self, rows: &[Student]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    pub fn upsert_guardians(&self, rows: &[Guardian]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    pub fn upsert_sections(&self, rows: &[Section]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    /// Inserts or updates student–guardian links by (system, student, guardian).
    pub fn upsert_student_guardians(&self, links: &[StudentGuardian]) -> Result<usize> {
        for l in links {
            require(&l.student_source_id, "A guardian link's student")?;
            require(&l.guardian_source_id, "A guardian link's guardian")?;
        }
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO student_guardians (system, student_source_id, guardian_source_id, \
             relationship, is_primary, can_pick_up, emergency_contact) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (system, student_source_id, guardian_source_id) DO UPDATE SET \
             relationship = excluded.relationship, is_primary = excluded.is_primary, \
             can_pick_up = excluded.can_pick_up, emergency_contact = excluded.emergency_contact",
        )?;
        let mut n = 0;
        for l in links {
            n += stmt.execute(params_from_iter([
                text(l.system.as_str()),
                text(&l.student_source_id),
                text(&l.guardian_source_id),
                opt_text(&l.relationship),
                boolean(l.is_primary),
                opt_bool(l.can_pick_up),
                opt_bool(l.emergency_contact),
            ]))?;
        }
        Ok(n)
    }

    /// Makes `links` the complete list of one student's guardians (links no longer listed by
    /// the system are removed).
    pub fn replace_guardians_of(
        &self,
        system: System,
        student_source_id: &str,
        links: &[StudentGuardian],
    ) -> Result<usize> {
        if let Some(l) = links
            .iter()
            .find(|l| l.system != system || l.student_source_id != student_source_id)
        {
            return Err(CacheError::InvalidInput(format!(
                "A guardian link for student {} of {} was given as a link of student \
                 {student_source_id} of {}.",
                l.student_source_id, l.system, system
            )));
        }
        self.conn.execute(
            "DELETE FROM student_guardians WHERE system = ?1 AND student_source_id = ?2",
            (system.as_str(), student_source_id),
        )?;
        self.upsert_student_guardians(links)
    }

    /// Inserts or updates roster rows by (system, section, student).
    pub fn upsert_enrollments(&self, rows: &[Enrollment]) -> Result<usize> {
        for e in rows {
            require(&e.student_source_id, "A roster row's student")?;
            require(&e.section_source_id, "A roster row's section")?;
        }
        let mut stmt = self.conn.prepare_cached(&format!(
            "INSERT INTO enrollments ({ENROLLMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (system, section_source_id, student_source_id) DO UPDATE SET \
             grade_level = excluded.grade_level, start_date = excluded.start_date, \
             end_date = excluded.end_date, fetched_at = excluded.fetched_at"
        ))?;
        let mut n = 0;
        for e in rows {
            n += stmt.execute(params_from_iter([
                text(e.system.as_str()),
                text(&e.section_source_id),
                text(&e.student_source_id),
                opt_text(&e.grade_level),
                opt_date(e.start_date),
                opt_date(e.end_date),
                ToSqlOutput::Owned(Value::Text(ts(e.fetched_at))),
            ]))?;
        }
        Ok(n)
    }

    /// Makes `rows` the complete roster of one section (students no longer listed are removed).
    pub fn replace_roster(
        &self,
        system: System,
        section_source_id: &str,
        rows: &[Enrollment],
    ) -> Result<usize> {
        if let Some(e) = rows
            .iter()
            .find(|e| e.system != system || e.section_source_id != section_source_id)
        {
            return Err(CacheError::InvalidInput(format!(
                "A roster row of section {} of {} was given as part of section \
                 {section_source_id} of {}.",
                e.section_source_id, e.system, system
            )));
        }
        self.conn.execute(
            "DELETE FROM enrollments WHERE system = ?1 AND section_source_id = ?2",
            (system.as_str(), section_source_id),
        )?;
        self.upsert_enrollments(rows)
    }

    pub fn student(&self, system: System, source_id: &str) -> Result<Option<Student>> {
        rows::get(self.conn, system, source_id)
    }

    pub fn section(&self, system: System, source_id: &str) -> Result<Option<Section>> {
        rows::get(self.conn, system, source_id)
    }
}

impl Cache {
    /// Students matching `query`, by family then given name.
    pub fn students(&self, query: &StudentQuery) -> Result<Vec<Student>> {
        self.read(|c| students(c, query))
    }

    pub fn student(&self, system: System, source_id: &str) -> Result<Option<Student>> {
        self.read(|c| rows::get(c, system, source_id))
    }

    /// The students of one section, by family then given name. A roster row whose student is
    /// not cached (not yet synced, or not visible to Schooldesk) is left out.
    pub fn roster(&self, system: System, section_source_id: &str) -> Result<Vec<Student>> {
        self.read(|c| roster(c, system, section_source_id))
    }

    /// The roster rows of one section as stored (including students not cached).
    pub fn enrollments(&self, system: System, section_source_id: &str) -> Result<Vec<Enrollment>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE system = ?1 \
                 AND section_source_id = ?2 ORDER BY student_source_id"
            ))?;
            let rows = stmt.query_map((system.as_str(), section_source_id), enrollment_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The sections a student is enrolled in, by name.
    pub fn sections_of(&self, system: System, student_source_id: &str) -> Result<Vec<Section>> {
        self.read(|c| {
            rows::select::<Section>(
                c,
                "JOIN enrollments e ON e.system = t.system AND e.section_source_id = t.source_id \
                 WHERE e.system = ?1 AND e.student_source_id = ?2 \
                 ORDER BY t.name COLLATE NOCASE, t.source_id",
                (system.as_str(), student_source_id),
            )
        })
    }

    /// A student's guardians with what each may do, primary first. A link whose guardian is
    /// not cached is left out.
    pub fn guardians_of(
        &self,
        system: System,
        student_source_id: &str,
    ) -> Result<Vec<(Guardian, StudentGuardian)>> {
        self.read(|c| guardians_of(c, system, student_source_id))
    }

    pub fn schools(&self, system: Option<System>) -> Result<Vec<School>> {
        self.read(|c| rows::all(c, system, "t.name COLLATE NOCASE, t.system, t.source_id"))
    }

    pub fn sections(&self, system: Option<System>) -> Result<Vec<Section>> {
        self.read(|c| rows::all(c, system, "t.name COLLATE NOCASE, t.system, t.source_id"))
    }

    pub fn section(&self, system: System, source_id: &str) -> Result<Option<Section>> {
        self.read(|c| rows::get(c, system, source_id))
    }
}

#[cfg(test)]
mod tests {
    use super::match_expression;

    #[test]
    fn search_words_become_quoted_prefixes() {
        assert_eq!(match_expression("  "), None);
        assert_eq!(match_expression("jo"), Some("\"jo\"*".into()));
        assert_eq!(
            match_expression("O'Brien, Zoë"),
            Some("\"O\"* AND \"Brien\"* AND \"Zoë\"*".into())
        );
        assert_eq!(
            match_expression("\"x\" OR NEAR(y"),
            Some("\"x\"* AND \"OR\"* AND \"NEAR\"* AND \"y\"*".into())
        );
    }
}
