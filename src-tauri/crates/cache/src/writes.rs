//! `Cache` versions of the batch writes of [`CacheTx`], each in its own transaction.

use schooldesk_domain::{
    AttendanceCode, AttendanceMark, Checklist, ChecklistEntry, Document, Enrollment,
    EnrollmentRecord, Grade, Guardian, LearningSupportRecord, LearningSupportReview, School,
    Section, Student, StudentGuardian, System,
};

use crate::error::Result;
use crate::store::Cache;

macro_rules! batch_writes {
    ($($name:ident($model:ty);)*) => {
        impl Cache {
            $(
                #[doc = concat!(
                    "Inserts or updates `", stringify!($model), "` rows in one transaction \
                     (all or none); returns how many were written. See [`crate::CacheTx::",
                    stringify!($name), "`]."
                )]
                pub fn $name(&self, rows: &[$model]) -> Result<usize> {
                    self.with_transaction(|tx| tx.$name(rows))
                }
            )*
        }
    };
}

batch_writes! {
    upsert_schools(School);
    upsert_students(Student);
    upsert_guardians(Guardian);
    upsert_student_guardians(StudentGuardian);
    upsert_sections(Section);
    upsert_enrollments(Enrollment);
    upsert_attendance_marks(AttendanceMark);
    upsert_attendance_codes(AttendanceCode);
    upsert_checklists(Checklist);
    upsert_checklist_entries(ChecklistEntry);
    upsert_enrollment_records(EnrollmentRecord);
    upsert_documents(Document);
    upsert_learning_support_records(LearningSupportRecord);
    upsert_learning_support_reviews(LearningSupportReview);
    upsert_grades(Grade);
}

impl Cache {
    /// See [`crate::CacheTx::replace_roster`].
    pub fn replace_roster(
        &self,
        system: System,
        section_source_id: &str,
        rows: &[Enrollment],
    ) -> Result<usize> {
        self.with_transaction(|tx| tx.replace_roster(system, section_source_id, rows))
    }

    /// See [`crate::CacheTx::replace_guardians_of`].
    pub fn replace_guardians_of(
        &self,
        system: System,
        student_source_id: &str,
        links: &[StudentGuardian],
    ) -> Result<usize> {
        self.with_transaction(|tx| tx.replace_guardians_of(system, student_source_id, links))
    }

    /// See [`crate::CacheTx::store_document_content`].
    pub fn store_document_content(
        &self,
        system: System,
        source_id: &str,
        content: &[u8],
    ) -> Result<bool> {
        self.with_transaction(|tx| tx.store_document_content(system, source_id, content))
    }
}
