//! The deterministic district every simulator serves: schools, staff, students, guardians and
//! sections, generated from a seed so that a test, a benchmark and a demo all see the same
//! children in all four systems.
//!
//! The same seed and size always give the same district, field for field. Indexes
//! (`Student::index`, `Section::index`, …) are positions in the district's vectors, so
//! cross-references are plain `usize`s. About 2% of students carry a [`Disagreement`]: one
//! system shows a different surname, grade or date of birth, as real districts do.

use chrono::{Datelike, Duration, NaiveDate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::SystemKind;

/// One district: what every simulator serves, each in its own shape.
#[derive(Debug, Clone)]
pub struct District {
    pub seed: u64,
    pub name: String,
    /// Email and web domain of the district, e.g. `riverside.example.org`.
    pub domain: String,
    pub schools: Vec<School>,
    pub staff: Vec<Staff>,
    pub students: Vec<Student>,
    pub guardians: Vec<Guardian>,
    pub sections: Vec<Section>,
    /// UK-style year groups indexed by US grade: `year_groups[grade]`, "Year 1" (grade K)
    /// to "Year 13" (grade 12). HUBmis speaks year groups, the US systems grades.
    pub year_groups: Vec<String>,
    /// First day of the school year the district is in (1 September).
    pub school_year_start: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct School {
    pub index: usize,
    pub uuid: String,
    pub name: String,
    /// Short code, e.g. `RHS01`.
    pub code: String,
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub index: usize,
    pub uuid: String,
    /// Shared across systems, e.g. `SF00042`.
    pub external_id: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub school: usize,
}

#[derive(Debug, Clone)]
pub struct Student {
    pub index: usize,
    /// OmniForge person id.
    pub uuid: String,
    /// Shared across systems, e.g. `ST004211`.
    pub external_id: String,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    /// `"M"` or `"F"`.
    pub gender: String,
    pub date_of_birth: NaiveDate,
    /// 0 = kindergarten .. 12.
    pub grade: u8,
    /// `District::year_groups[grade]`.
    pub year_group: String,
    pub school: usize,
    /// Index into `District::sections` of the student's homeroom.
    pub homeroom: usize,
    /// Every section the student is in, homeroom first.
    pub sections: Vec<usize>,
    /// Indexes into `District::guardians`, primary guardian first.
    pub guardians: Vec<usize>,
    pub email: String,
    pub address: Address,
    pub enrolled_on: NaiveDate,
    /// Deliberate per-system differences (about 2% of students have one).
    pub disagreements: Vec<Disagreement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub line1: String,
    pub city: String,
    pub postcode: String,
}

#[derive(Debug, Clone)]
pub struct Guardian {
    pub index: usize,
    pub uuid: String,
    pub given_name: String,
    pub family_name: String,
    /// e.g. "Mother", "Father", "Grandmother", "Guardian".
    pub relationship: String,
    pub phone: String,
    pub email: String,
    pub can_pick_up: bool,
    pub is_primary: bool,
    pub emergency_contact: bool,
    /// Indexes into `District::students`: siblings share guardians.
    pub students: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Section {
    pub index: usize,
    pub uuid: String,
    pub school: usize,
    /// e.g. "Homeroom 3B" or "Mathematics 3-2".
    pub name: String,
    /// e.g. `HR-03-2` or `MATH-03-2`.
    pub code: String,
    pub is_homeroom: bool,
    /// Staff index of the teacher.
    pub teacher: usize,
    /// Grade the section is for.
    pub grade: u8,
    /// Subject, "Homeroom" for homerooms.
    pub subject: String,
    pub students: Vec<usize>,
}

/// One system shows `value` for `field` where the others show the student's own value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub system: SystemKind,
    pub field: DisagreementField,
    /// Family name as is; grade as a number (`"4"`); date of birth as `YYYY-MM-DD`.
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisagreementField {
    FamilyName,
    Grade,
    DateOfBirth,
}

impl Student {
    fn disagreement(&self, system: SystemKind, field: DisagreementField) -> Option<&str> {
        self.disagreements
            .iter()
            .find(|d| d.system == system && d.field == field)
            .map(|d| d.value.as_str())
    }

    /// The family name `system` shows for this student.
    pub fn family_name_in(&self, system: SystemKind) -> &str {
        self.disagreement(system, DisagreementField::FamilyName)
            .unwrap_or(&self.family_name)
    }

    /// The grade `system` shows for this student.
    pub fn grade_in(&self, system: SystemKind) -> u8 {
        self.disagreement(system, DisagreementField::Grade)
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.grade)
    }

    /// The date of birth `system` shows for this student.
    pub fn date_of_birth_in(&self, system: SystemKind) -> NaiveDate {
        self.disagreement(system, DisagreementField::DateOfBirth)
            .and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
            .unwrap_or(self.date_of_birth)
    }

    /// The name the school uses day to day: preferred name if any, else given name.
    pub fn known_as(&self) -> &str {
        self.preferred_name.as_deref().unwrap_or(&self.given_name)
    }
}

/// How the US systems write a grade: `"K"` for kindergarten, else the number.
pub fn grade_label(grade: u8) -> String {
    if grade == 0 {
        "K".to_string()
    } else {
        grade.to_string()
    }
}

/// A UUID derived from `parts` (SHA-256), so ids of derived records (enrollments, marks,
/// documents) are stable across runs without being stored.
pub fn derived_uuid(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// SplitMix64: a cheap, well-spread hash of a number, for per-record deterministic choices
/// (a mark's status on a day) without a generator to carry around.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl District {
    /// The student with this external id (e.g. `ST000042`).
    pub fn student_by_external_id(&self, external_id: &str) -> Option<&Student> {
        let n: usize = external_id.strip_prefix("ST")?.parse().ok()?;
        self.students
            .get(n.checked_sub(1)?)
            .filter(|s| s.external_id == external_id)
    }

    /// School days (Monday to Friday) from `from` to `to` inclusive.
    pub fn school_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        from.iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| d.weekday().number_from_monday() <= 5)
            .collect()
    }
}

const GIVEN_F: &[&str] = &[
    "Olivia", "Emma", "Amelia", "Sophia", "Isla", "Ava", "Mia", "Grace", "Lily", "Freya", "Chloe",
    "Ella", "Harper", "Zara", "Aisha", "Maya", "Priya", "Hannah", "Ruby", "Evie", "Sofia", "Layla",
    "Nora", "Elena", "Chiara", "Ingrid", "Yuki", "Mei", "Fatima", "Leah", "Alice", "Poppy",
    "Rosie", "Imogen", "Niamh", "Aoife", "Zoe", "Clara", "Jasmine", "Naomi",
];
const GIVEN_M: &[&str] = &[
    "Oliver", "George", "Noah", "Arthur", "Leo", "Harry", "Oscar", "Jack", "Theo", "Henry", "Liam",
    "Ethan", "Lucas", "Mason", "Mohammed", "Omar", "Arjun", "Ravi", "Samuel", "Daniel", "James",
    "William", "Thomas", "Benjamin", "Mateo", "Diego", "Kenji", "Wei", "Luca", "Finn", "Alfie",
    "Archie", "Charlie", "Freddie", "Isaac", "Joshua", "Kai", "Max", "Reuben", "Toby",
];
const NICKNAMES: &[(&str, &str)] = &[
    ("William", "Will"),
    ("Benjamin", "Ben"),
    ("Samuel", "Sam"),
    ("Thomas", "Tom"),
    ("James", "Jamie"),
    ("Daniel", "Dan"),
    ("Joshua", "Josh"),
    ("Alice", "Ally"),
    ("Elena", "Lena"),
    ("Imogen", "Immy"),
    ("Olivia", "Liv"),
    ("Sophia", "Sophie"),
    ("Mohammed", "Mo"),
    ("Isaac", "Zac"),
    ("Freddie", "Fred"),
    ("Hannah", "Anna"),
];
const FAMILY: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Khan",
    "Singh",
    "Garcia",
    "Martinez",
    "Nguyen",
    "Kim",
    "Chen",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Hughes",
    "Edwards",
    "Lewis",
    "Harris",
    "Martin",
    "Cooper",
    "Ward",
    "Morris",
    "Turner",
    "Okafor",
    "Mensah",
    "Kowalski",
    "Novak",
    "Rossi",
    "Müller",
    "Nakamura",
    "Haddad",
    "Ahmed",
    "Ali",
    "Baker",
    "Carter",
    "Fischer",
    "Lindqvist",
    "Moreau",
    "Santos",
    "Silva",
    "Costa",
    "Byrne",
    "Doyle",
    "McCarthy",
    "Campbell",
    "Stewart",
    "Reid",
];
const STREETS: &[&str] = &[
    "Oak",
    "Maple",
    "Cedar",
    "Elm",
    "Willow",
    "Birch",
    "Chestnut",
    "Hawthorn",
    "Mill",
    "Church",
    "Station",
    "Park",
    "Victoria",
    "Riverside",
    "Orchard",
    "Meadow",
    "Highfield",
    "Kingsway",
];
const STREET_KINDS: &[&str] = &["Street", "Road", "Avenue", "Lane", "Close", "Drive", "Way"];
const CITIES: &[&str] = &[
    "Riverside",
    "Fairview",
    "Oakridge",
    "Millbrook",
    "Ashford",
    "Lakeside",
    "Westfield",
];
const SCHOOL_PLACES: &[&str] = &[
    "Riverside",
    "Fairview",
    "Oakridge",
    "Millbrook",
    "Ashford",
    "Lakeside",
    "Westfield",
    "Northgate",
    "Southmead",
    "Eastbrook",
    "Hillcrest",
    "Kingsbury",
    "Elmwood",
    "Brookfield",
    "Greenhill",
    "Stonebridge",
    "Harbourside",
    "Woodlands",
    "Parkside",
    "Meadowbank",
];
/// Subjects every student takes, then electives (each student takes 0–2 of them), so each
/// student is in 5–7 sections counting the homeroom.
const CORE: &[(&str, &str)] = &[
    ("Mathematics", "MATH"),
    ("English", "ENG"),
    ("Science", "SCI"),
    ("Humanities", "HUM"),
];
const ELECTIVES: &[(&str, &str)] = &[
    ("Art", "ART"),
    ("Music", "MUS"),
    ("Computing", "CMP"),
    ("Physical Education", "PE"),
];
const CLASS_SIZE: usize = 25;

fn pick<'a, R: Rng>(rng: &mut R, list: &[&'a str]) -> &'a str {
    list[rng.gen_range(0..list.len())]
}

fn uuid<R: Rng>(rng: &mut R) -> String {
    uuid::Builder::from_random_bytes(rng.gen())
        .into_uuid()
        .to_string()
}

fn slug(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// Generates the district for `seed` with exactly `students` students.
pub fn generate(seed: u64, students: usize) -> District {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let place = pick(&mut rng, SCHOOL_PLACES);
    let name = format!("{place} Unified School District");
    let domain = format!("{}.example.org", slug(place));
    let school_year_start = NaiveDate::from_ymd_opt(2026, 9, 1).expect("valid date");
    let year_groups: Vec<String> = (1..=13).map(|y| format!("Year {y}")).collect();

    let school_count = (students / 500).max(2);
    let schools: Vec<School> = (0..school_count)
        .map(|i| {
            let p = SCHOOL_PLACES[(i + seed as usize) % SCHOOL_PLACES.len()];
            let round = i / SCHOOL_PLACES.len();
            let suffix = if round == 0 {
                String::new()
            } else {
                format!(" {}", round + 1)
            };
            School {
                index: i,
                uuid: uuid(&mut rng),
                name: format!("{p}{suffix} Community School"),
                code: format!(
                    "{}{:02}",
                    p.chars().take(3).collect::<String>().to_uppercase(),
                    i + 1
                ),
            }
        })
        .collect();

    // Families first: siblings share a family name, an address, a school and guardians.
    let mut out_students: Vec<Student> = Vec::with_capacity(students);
    let mut guardians: Vec<Guardian> = Vec::with_capacity(students * 6 / 5);
    while out_students.len() < students {
        let kids = match rng.gen_range(0..100) {
            0..=64 => 1,
            65..=92 => 2,
            _ => 3,
        }
        .min(students - out_students.len());
        let family_name = pick(&mut rng, FAMILY).to_string();
        let school = rng.gen_range(0..school_count);
        let city = pick(&mut rng, CITIES);
        let address = Address {
            line1: format!(
                "{} {} {}",
                rng.gen_range(1..240),
                pick(&mut rng, STREETS),
                pick(&mut rng, STREET_KINDS)
            ),
            city: city.to_string(),
            postcode: format!("9{:04}", rng.gen_range(1000..9999)),
        };
        let n_guardians = match rng.gen_range(0..100) {
            0..=24 => 1,
            25..=89 => 2,
            _ => 3,
        };
        let first_guardian = guardians.len();
        for g in 0..n_guardians {
            let (relationship, female) = match (g, rng.gen_range(0..100)) {
                (0, 0..=69) => ("Mother", true),
                (0, 70..=94) => ("Father", false),
                (0, _) => ("Guardian", rng.gen_bool(0.5)),
                (1, 0..=84) => ("Father", false),
                (1, _) => ("Stepmother", true),
                (_, 0..=49) => ("Grandmother", true),
                (_, 50..=79) => ("Grandfather", false),
                (_, _) => ("Aunt", true),
            };
            let given = pick(&mut rng, if female { GIVEN_F } else { GIVEN_M });
            let family = if rng.gen_bool(0.85) {
                family_name.clone()
            } else {
                pick(&mut rng, FAMILY).to_string()
            };
            let index = guardians.len();
            guardians.push(Guardian {
                index,
                uuid: uuid(&mut rng),
                given_name: given.to_string(),
                family_name: family.clone(),
                relationship: relationship.to_string(),
                phone: format!(
                    "+1-555-{:03}-{:04}",
                    rng.gen_range(100..999),
                    rng.gen_range(0..10_000)
                ),
                email: format!(
                    "{}.{}{}@mail.example.net",
                    slug(given),
                    slug(&family),
                    index + 1
                ),
                can_pick_up: g == 0 || rng.gen_bool(0.8),
                is_primary: g == 0,
                emergency_contact: g < 2 || rng.gen_bool(0.5),
                students: Vec::new(),
            });
        }
        let mut grades: Vec<u8> = (0..=12).collect();
        grades.shuffle(&mut rng);
        for &grade in grades.iter().take(kids) {
            let index = out_students.len();
            let female = rng.gen_bool(0.5);
            let given = pick(&mut rng, if female { GIVEN_F } else { GIVEN_M });
            let preferred_name = NICKNAMES
                .iter()
                .find(|(full, _)| *full == given)
                .filter(|_| rng.gen_bool(0.4))
                .map(|(_, nick)| nick.to_string());
            // Born in the twelve months that put the child in `grade` on 1 September.
            let born_from =
                NaiveDate::from_ymd_opt(school_year_start.year() - 6 - i32::from(grade), 9, 1)
                    .expect("date");
            let date_of_birth = born_from + Duration::days(rng.gen_range(0..365));
            let entry_year = school_year_start.year() - i32::from(rng.gen_range(0..=grade));
            let enrolled_on = if rng.gen_bool(0.9) {
                NaiveDate::from_ymd_opt(entry_year, 9, 1).expect("date")
            } else {
                NaiveDate::from_ymd_opt(entry_year, 9, 1).expect("date")
                    + Duration::days(rng.gen_range(20..250))
            };
            let guardian_ids: Vec<usize> = (first_guardian..guardians.len()).collect();
            for g in &guardian_ids {
                guardians[*g].students.push(index);
            }
            out_students.push(Student {
                index,
                uuid: uuid(&mut rng),
                external_id: format!("ST{:06}", index + 1),
                given_name: given.to_string(),
                family_name: family_name.clone(),
                preferred_name,
                gender: if female { "F" } else { "M" }.to_string(),
                date_of_birth,
                grade,
                year_group: year_groups[usize::from(grade)].clone(),
                school,
                homeroom: 0,
                sections: Vec::new(),
                guardians: guardian_ids,
                email: format!(
                    "{}.{}{}@students.{domain}",
                    slug(given),
                    slug(&family_name),
                    index + 1
                ),
                address: address.clone(),
                enrolled_on,
                disagreements: Vec::new(),
            });
        }
    }

    // About 2% disagree somewhere: a surname changed in one system, a grade, a birth date.
    const SYSTEMS: [SystemKind; 4] = [
        SystemKind::OmniForge,
        SystemKind::PowerSchool,
        SystemKind::Matrix,
        SystemKind::Hubmis,
    ];
    for s in out_students.iter_mut() {
        if !rng.gen_bool(0.02) {
            continue;
        }
        let system = SYSTEMS[rng.gen_range(0..SYSTEMS.len())];
        let (field, value) = match rng.gen_range(0..3) {
            0 => {
                let mut other = pick(&mut rng, FAMILY);
                if other == s.family_name {
                    other = if other == "Smith" { "Jones" } else { "Smith" };
                }
                let value = if rng.gen_bool(0.5) {
                    format!("{}-{}", s.family_name, other)
                } else {
                    other.to_string()
                };
                (DisagreementField::FamilyName, value)
            }
            1 => {
                let g = if s.grade == 12 || (s.grade > 0 && rng.gen_bool(0.5)) {
                    s.grade - 1
                } else {
                    s.grade + 1
                };
                (DisagreementField::Grade, g.to_string())
            }
            _ => {
                // Day and month swapped where that is a valid date, else a day off.
                let d = s.date_of_birth;
                let swapped = NaiveDate::from_ymd_opt(d.year(), d.day(), d.month())
                    .filter(|x| *x != d)
                    .unwrap_or(d + Duration::days(1));
                (
                    DisagreementField::DateOfBirth,
                    swapped.format("%Y-%m-%d").to_string(),
                )
            }
        };
        s.disagreements.push(Disagreement {
            system,
            field,
            value,
        });
    }

    // Staff: about one teacher per 18 students per school, at least four.
    let mut per_school: Vec<Vec<Vec<usize>>> = vec![vec![Vec::new(); 13]; school_count];
    for s in &out_students {
        per_school[s.school][usize::from(s.grade)].push(s.index);
    }
    let mut staff: Vec<Staff> = Vec::new();
    let mut school_staff: Vec<Vec<usize>> = Vec::with_capacity(school_count);
    for (school, grades) in per_school.iter().enumerate() {
        let n: usize = grades.iter().map(Vec::len).sum();
        let count = n.div_ceil(18).max(4);
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            let index = staff.len();
            let female = rng.gen_bool(0.6);
            let given = pick(&mut rng, if female { GIVEN_F } else { GIVEN_M });
            let family = pick(&mut rng, FAMILY);
            staff.push(Staff {
                index,
                uuid: uuid(&mut rng),
                external_id: format!("SF{:05}", index + 1),
                given_name: given.to_string(),
                family_name: family.to_string(),
                email: format!("{}.{}{}@{domain}", slug(given), slug(family), index + 1),
                school,
            });
            ids.push(index);
        }
        school_staff.push(ids);
    }

    // Sections per school and grade: homerooms, core subjects, electives, ~25 each.
    let mut sections: Vec<Section> = Vec::new();
    let mut next_teacher = vec![0usize; school_count];
    let mut new_section = |rng: &mut ChaCha8Rng,
                           sections: &mut Vec<Section>,
                           school: usize,
                           grade: u8,
                           subject: &str,
                           code: &str,
                           n: usize,
                           members: Vec<usize>| {
        let index = sections.len();
        let teachers = &school_staff[school];
        let teacher = teachers[next_teacher[school] % teachers.len()];
        next_teacher[school] += 1;
        let grade_label = if grade == 0 {
            "K".to_string()
        } else {
            grade.to_string()
        };
        let (name, code) = if subject == "Homeroom" {
            let letter = (b'A' + (n % 26) as u8) as char;
            (
                format!("Homeroom {grade_label}{letter}"),
                format!("HR-{}-{:02}-{}", schools[school].code, grade, n + 1),
            )
        } else {
            (
                format!("{subject} {grade_label}-{}", n + 1),
                format!("{code}-{}-{:02}-{}", schools[school].code, grade, n + 1),
            )
        };
        sections.push(Section {
            index,
            uuid: uuid(rng),
            school,
            name,
            code,
            is_homeroom: subject == "Homeroom",
            teacher,
            grade,
            subject: subject.to_string(),
            students: members,
        });
        index
    };
    for (school, grades) in per_school.iter().enumerate() {
        for (grade, kids) in grades.iter().enumerate() {
            if kids.is_empty() {
                continue;
            }
            let grade = grade as u8;
            let groups = kids.len().div_ceil(CLASS_SIZE);
            // Homerooms: dealt round-robin so each is within one of the others in size.
            for g in 0..groups {
                let members: Vec<usize> = kids.iter().copied().skip(g).step_by(groups).collect();
                let sec = new_section(
                    &mut rng,
                    &mut sections,
                    school,
                    grade,
                    "Homeroom",
                    "HR",
                    g,
                    members.clone(),
                );
                for m in members {
                    out_students[m].homeroom = sec;
                    out_students[m].sections.push(sec);
                }
            }
            // Core subjects: students mixed differently from the homerooms.
            for (subject, code) in CORE {
                let mut order = kids.clone();
                order.shuffle(&mut rng);
                for g in 0..groups {
                    let members: Vec<usize> =
                        order.iter().copied().skip(g).step_by(groups).collect();
                    let sec = new_section(
                        &mut rng,
                        &mut sections,
                        school,
                        grade,
                        subject,
                        code,
                        g,
                        members.clone(),
                    );
                    for m in members {
                        out_students[m].sections.push(sec);
                    }
                }
            }
            // Electives: each student picks 0–2.
            let mut takers: Vec<Vec<usize>> = vec![Vec::new(); ELECTIVES.len()];
            for &k in kids {
                let n = rng.gen_range(0..=2);
                let mut choice: Vec<usize> = (0..ELECTIVES.len()).collect();
                choice.shuffle(&mut rng);
                for e in choice.into_iter().take(n) {
                    takers[e].push(k);
                }
            }
            for (e, (subject, code)) in ELECTIVES.iter().enumerate() {
                let t = &takers[e];
                if t.is_empty() {
                    continue;
                }
                let groups = t.len().div_ceil(CLASS_SIZE);
                for g in 0..groups {
                    let members: Vec<usize> = t.iter().copied().skip(g).step_by(groups).collect();
                    let sec = new_section(
                        &mut rng,
                        &mut sections,
                        school,
                        grade,
                        subject,
                        code,
                        g,
                        members.clone(),
                    );
                    for m in members {
                        out_students[m].sections.push(sec);
                    }
                }
            }
        }
    }

    District {
        seed,
        name,
        domain,
        schools,
        staff,
        students: out_students,
        guardians,
        sections,
        year_groups,
        school_year_start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_district() {
        let a = generate(7, 600);
        let b = generate(7, 600);
        assert_eq!(a.students.len(), 600);
        for (x, y) in a.students.iter().zip(&b.students) {
            assert_eq!(x.uuid, y.uuid);
            assert_eq!(x.family_name, y.family_name);
            assert_eq!(x.sections, y.sections);
        }
        let c = generate(8, 600);
        assert_ne!(a.students[0].uuid, c.students[0].uuid);
    }

    #[test]
    fn structure_is_consistent() {
        let d = generate(42, 2000);
        assert!(d.schools.len() >= 2);
        for s in &d.students {
            assert!((1..=3).contains(&s.guardians.len()));
            assert_eq!(s.sections[0], s.homeroom);
            assert!(d.sections[s.homeroom].is_homeroom);
            assert!((5..=7).contains(&s.sections.len()), "{}", s.sections.len());
            for &sec in &s.sections {
                assert!(d.sections[sec].students.contains(&s.index));
                assert_eq!(d.sections[sec].school, s.school);
            }
            for &g in &s.guardians {
                assert!(d.guardians[g].students.contains(&s.index));
            }
            assert_eq!(
                d.student_by_external_id(&s.external_id).unwrap().index,
                s.index
            );
        }
        for sec in &d.sections {
            assert!(sec.students.len() <= CLASS_SIZE, "{}", sec.students.len());
        }
        let siblings = d.guardians.iter().filter(|g| g.students.len() > 1).count();
        assert!(siblings > 0);
        let disagreeing = d
            .students
            .iter()
            .filter(|s| !s.disagreements.is_empty())
            .count();
        assert!((10..=80).contains(&disagreeing), "{disagreeing}");
    }

    #[test]
    fn disagreements_apply_to_one_system_only() {
        let d = generate(42, 5000);
        let s = d
            .students
            .iter()
            .find(|s| {
                s.disagreements
                    .iter()
                    .any(|x| x.field == DisagreementField::Grade)
            })
            .expect("some grade disagreement");
        let dis = &s.disagreements[0];
        assert_ne!(s.grade_in(dis.system), s.grade);
        let other = [SystemKind::OmniForge, SystemKind::PowerSchool]
            .into_iter()
            .find(|k| *k != dis.system)
            .unwrap();
        assert_eq!(s.grade_in(other), s.grade);
    }
}
