use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The school systems Schooldesk connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// OmniForge SIS (district SIS).
    OmniForge,
    /// PowerSchool Enrollment (registration forms, checklists, documents).
    PowerSchool,
    /// Matrix LMS API 1.0 (classes, rosters, grades).
    Matrix,
    /// WCBS HUBmis (UK schools: students, contacts, registers, learning support).
    Hubmis,
}

impl System {
    pub const ALL: [System; 4] = [
        System::OmniForge,
        System::PowerSchool,
        System::Matrix,
        System::Hubmis,
    ];

    /// The stable identifier used in the cache, the CLI and the IPC surface.
    pub fn as_str(self) -> &'static str {
        match self {
            System::OmniForge => "omniforge",
            System::PowerSchool => "powerschool",
            System::Matrix => "matrix",
            System::Hubmis => "hubmis",
        }
    }

    /// The name an office worker knows the system by.
    pub fn display_name(self) -> &'static str {
        match self {
            System::OmniForge => "OmniForge SIS",
            System::PowerSchool => "PowerSchool Enrollment",
            System::Matrix => "Matrix LMS",
            System::Hubmis => "WCBS HUBmis",
        }
    }

    /// Whether the system's API accepts writes at all (HUBmis is read-only).
    pub fn accepts_writes(self) -> bool {
        !matches!(self, System::Hubmis)
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown system '{0}': expected one of omniforge, powerschool, matrix, hubmis")]
pub struct UnknownSystem(pub String);

impl FromStr for System {
    type Err = UnknownSystem;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        System::ALL
            .into_iter()
            .find(|sys| sys.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSystem(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_its_own_names_and_rejects_others() {
        for s in System::ALL {
            assert_eq!(s.as_str().parse::<System>().unwrap(), s);
        }
        assert_eq!("HUBmis".parse::<System>().unwrap(), System::Hubmis);
        assert!("sims".parse::<System>().is_err());
    }
}
