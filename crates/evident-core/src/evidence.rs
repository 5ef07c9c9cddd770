//! Evidence: a file or a structured record that proves a control operated, stored once by its
//! SHA-256 digest, immutable, with the date the thing it proves happened (its **effective** date,
//! the day the access review was done) distinct from the day it was uploaded.
//!
//! A record is never edited: a correction is a new record that supersedes the old one, and both
//! stay on record. The bytes themselves live in the evidence store (`evident-evidence`); this module
//! holds the record's rules: what a file name, a period and a date may be.

use std::fmt;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use crate::dates::Period;
use crate::dates::{self, PeriodError};
use crate::ids::{ControlId, EvidenceId, Sha256Digest};
use crate::macros::named_enum;

named_enum! {
    /// How a piece of evidence reached evident.
    pub enum EvidenceSource as "evidence source" {
        /// Uploaded by a person.
        Upload = "upload",
        /// The result of an automated check.
        Check = "check",
        /// Sent through the API by another system.
        Api = "api",
        /// Brought in by a bulk import with a manifest.
        Import = "import",
    }
}

/// How far before its organisation was created in evident a piece of evidence may date: one ISO
/// certification cycle, so a company can bring the history its auditor will look at.
pub const MAX_BACKDATE: Months = Months::new(36);

/// The longest file name kept, in bytes (what common file systems allow).
pub const MAX_FILE_NAME: usize = 255;

/// The longest description kept, in characters.
pub const MAX_DESCRIPTION: usize = 4_000;

/// Why an evidence record is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the file name {name:?} {problem}")]
    FileName { name: String, problem: &'static str },
    #[error(
        "the effective date {effective} is in the future (today is {today}): evidence proves what already happened"
    )]
    EffectiveInFuture { effective: NaiveDate, today: NaiveDate },
    #[error(
        "the effective date {effective} is before {earliest}, the earliest evidence the organisation can hold \
         (three years before it was created in evident)"
    )]
    EffectiveTooEarly { effective: NaiveDate, earliest: NaiveDate },
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error("{0}")]
    Date(String),
    #[error(
        "the period {from}..{to} ends after the effective date {effective}: evidence cannot prove what had not yet happened"
    )]
    PeriodAfterEffective { from: NaiveDate, to: NaiveDate, effective: NaiveDate },
    #[error("{0:?} is not a period: write FROM..TO, e.g. 2026-01-01..2026-03-31")]
    PeriodSyntax(String),
    #[error("evidence must prove at least one control")]
    NoControl,
    #[error("the control {0} is linked twice")]
    DuplicateControl(ControlId),
    #[error("the file is empty: zero-byte evidence proves nothing")]
    Empty,
    #[error("the media type {0:?} is not of the form type/subtype")]
    MediaType(String),
    #[error("the description is {0} characters long; at most {MAX_DESCRIPTION} are kept")]
    DescriptionTooLong(usize),
}

/// A file name as its uploader gave it: one path component, printable, at most
/// [`MAX_FILE_NAME`] bytes. Never used as a path: the bytes are stored by digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileName(String);

impl FileName {
    pub fn parse(input: &str) -> Result<Self, EvidenceError> {
        let problem = if input.trim().is_empty() {
            Some("is empty")
        } else if input.len() > MAX_FILE_NAME {
            Some("is longer than 255 bytes")
        } else if input.contains(['/', '\\']) {
            Some("contains a path separator: give the file's own name, not a path")
        } else if input == "." || input == ".." {
            Some("is not a file name")
        } else if input.chars().any(char::is_control) {
            Some("contains a control character")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(EvidenceError::FileName { name: input.to_owned(), problem }),
            None => Ok(Self(input.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FileName {
    type Error = EvidenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FileName> for String {
    fn from(value: FileName) -> String {
        value.0
    }
}

/// Parses a period as people write it: `FROM..TO`, ISO dates, both days included (the March
/// access review proves `2026-03-01..2026-03-31`); dates outside what evident accepts are refused.
pub fn parse_period(input: &str) -> Result<Period, EvidenceError> {
    let syntax = || EvidenceError::PeriodSyntax(input.to_owned());
    let (from, to) = input.trim().split_once("..").ok_or_else(syntax)?;
    let date = |s: &str| {
        let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| syntax())?;
        dates::check(|| "a period's day".to_owned(), date).map_err(|e| EvidenceError::Date(e.to_string()))
    };
    Ok(Period::new(date(from)?, date(to)?)?)
}

/// A control a piece of evidence proves, and for which period (none: the effective date alone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceLink {
    pub control: ControlId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

/// What the uploader says about a file, before its record is checked.
#[derive(Debug, Clone)]
pub struct EvidenceDraft {
    pub file_name: FileName,
    pub effective: NaiveDate,
    pub source: EvidenceSource,
    pub description: String,
    pub links: Vec<EvidenceLink>,
    pub supersedes: Option<EvidenceId>,
}

/// What the evidence store says about the bytes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBytes {
    pub digest: Sha256Digest,
    pub size: u64,
    pub media_type: String,
}

/// A checked evidence record, ready to store: built only by [`NewEvidence::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvidence {
    pub file_name: FileName,
    /// Sniffed from the bytes, never taken from the name.
    pub media_type: String,
    pub size: u64,
    pub digest: Sha256Digest,
    /// When the thing it proves happened.
    pub effective: NaiveDate,
    pub source: EvidenceSource,
    pub description: String,
    /// Sorted by control id.
    pub links: Vec<EvidenceLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<EvidenceId>,
}

impl EvidenceDraft {
    /// Checks what can be checked before the bytes are stored: an effective date neither in the
    /// future nor more than [`MAX_BACKDATE`] before the organisation was created, periods that end
    /// by the effective date, at least one control and each once, a description of sane length.
    pub fn check(self, today: NaiveDate, org_created: NaiveDate) -> Result<CheckedDraft, EvidenceError> {
        let effective = self.effective;
        if effective > today {
            return Err(EvidenceError::EffectiveInFuture { effective, today });
        }
        let earliest = earliest_effective(org_created);
        if effective < earliest {
            return Err(EvidenceError::EffectiveTooEarly { effective, earliest });
        }
        if self.links.is_empty() {
            return Err(EvidenceError::NoControl);
        }
        let mut links = self.links;
        links.sort_by(|a, b| a.control.cmp(&b.control));
        for pair in links.windows(2) {
            if pair[0].control == pair[1].control {
                return Err(EvidenceError::DuplicateControl(pair[0].control.clone()));
            }
        }
        for period in links.iter().filter_map(|l| l.period) {
            if period.to() > effective {
                return Err(EvidenceError::PeriodAfterEffective { from: period.from(), to: period.to(), effective });
            }
        }
        let description = self.description.trim().to_owned();
        let length = description.chars().count();
        if length > MAX_DESCRIPTION {
            return Err(EvidenceError::DescriptionTooLong(length));
        }
        Ok(CheckedDraft(EvidenceDraft { links, description, ..self }))
    }
}

/// A draft whose dates, links and description hold: what remains is the bytes.
#[derive(Debug, Clone)]
pub struct CheckedDraft(EvidenceDraft);

impl CheckedDraft {
    pub fn draft(&self) -> &EvidenceDraft {
        &self.0
    }

    /// The record of the stored bytes: not empty, with a media type of the form `type/subtype`.
    pub fn stored(self, bytes: StoredBytes) -> Result<NewEvidence, EvidenceError> {
        if bytes.size == 0 {
            return Err(EvidenceError::Empty);
        }
        let media_ok = bytes.media_type.split_once('/').is_some_and(|(t, s)| {
            let part = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
            part(t) && part(s.split(';').next().unwrap_or_default().trim())
        });
        if !media_ok {
            return Err(EvidenceError::MediaType(bytes.media_type));
        }
        let draft = self.0;
        Ok(NewEvidence {
            file_name: draft.file_name,
            media_type: bytes.media_type,
            size: bytes.size,
            digest: bytes.digest,
            effective: draft.effective,
            source: draft.source,
            description: draft.description,
            links: draft.links,
            supersedes: draft.supersedes,
        })
    }
}

impl NewEvidence {
    /// Checks a record whole: [`EvidenceDraft::check`], then [`CheckedDraft::stored`].
    pub fn new(
        draft: EvidenceDraft,
        bytes: StoredBytes,
        today: NaiveDate,
        org_created: NaiveDate,
    ) -> Result<Self, EvidenceError> {
        draft.check(today, org_created)?.stored(bytes)
    }

    /// Whether this record says the same as `other` about the same bytes (what an import that
    /// runs again skips).
    pub fn same_as(&self, other: &NewEvidence) -> bool {
        (&self.digest, self.effective, &self.links, &self.supersedes)
            == (&other.digest, other.effective, &other.links, &other.supersedes)
    }
}

/// The earliest effective date an organisation created on `org_created` can hold.
pub fn earliest_effective(org_created: NaiveDate) -> NaiveDate {
    org_created.checked_sub_months(MAX_BACKDATE).unwrap_or(NaiveDate::MIN)
}

/// A stored evidence record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub id: EvidenceId,
    #[serde(flatten)]
    pub record: NewEvidence,
    /// Who uploaded it, as the audit log names them.
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
    /// The record that corrects this one, if any: a superseded record no longer counts, but stays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<EvidenceId>,
}

impl Evidence {
    pub fn is_current(&self) -> bool {
        self.superseded_by.is_none()
    }
}

/// The newest current evidence of one control: what freshness needs, read without loading every
/// record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LatestEvidence {
    pub control: ControlId,
    pub evidence: EvidenceId,
    pub effective: NaiveDate,
}

/// One current piece of evidence linked to one control: what a Type 2 window samples from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedEvidence {
    pub control: ControlId,
    pub evidence: EvidenceId,
    pub effective: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn draft(effective: &str, links: Vec<EvidenceLink>) -> EvidenceDraft {
        EvidenceDraft {
            file_name: FileName::parse("review.pdf").unwrap(),
            effective: date(effective),
            source: EvidenceSource::Upload,
            description: " March review ".into(),
            links,
            supersedes: None,
        }
    }

    fn bytes(size: u64) -> StoredBytes {
        StoredBytes { digest: Sha256Digest::of(b"x"), size, media_type: "application/pdf".into() }
    }

    fn link(id: &str, period: Option<&str>) -> EvidenceLink {
        EvidenceLink { control: ControlId::parse(id).unwrap(), period: period.map(|p| parse_period(p).unwrap()) }
    }

    #[test]
    fn file_names_are_one_printable_component() {
        for bad in ["", "  ", "../etc/passwd", "a/b.pdf", "a\\b.pdf", "..", "a\nb", "a\u{0}b", &"x".repeat(256)] {
            assert!(FileName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(FileName::parse("Access review – März.pdf").unwrap().as_str(), "Access review – März.pdf");
    }

    #[test]
    fn effective_dates_are_neither_future_nor_before_the_records_can_go_back() {
        let (today, created) = (date("2026-12-01"), date("2026-06-01"));
        let new = |effective| NewEvidence::new(draft(effective, vec![link("c1", None)]), bytes(3), today, created);
        assert!(matches!(new("2026-12-02"), Err(EvidenceError::EffectiveInFuture { .. })));
        assert!(matches!(new("2023-05-31"), Err(EvidenceError::EffectiveTooEarly { .. })));
        let ok = new("2023-06-01").unwrap();
        assert_eq!(ok.description, "March review");
        assert!(new("2026-12-01").is_ok());
    }

    #[test]
    fn empty_files_unlinked_or_twice_linked_records_and_late_periods_are_refused() {
        let (today, created) = (date("2026-12-01"), date("2026-01-01"));
        let one = vec![link("c1", None)];
        assert_eq!(
            NewEvidence::new(draft("2026-03-31", one.clone()), bytes(0), today, created),
            Err(EvidenceError::Empty)
        );
        assert_eq!(
            NewEvidence::new(draft("2026-03-31", vec![]), bytes(1), today, created),
            Err(EvidenceError::NoControl)
        );
        let twice = vec![link("c1", None), link("c1", Some("2026-03-01..2026-03-31"))];
        assert!(matches!(
            NewEvidence::new(draft("2026-03-31", twice), bytes(1), today, created),
            Err(EvidenceError::DuplicateControl(_))
        ));
        let late = vec![link("c1", Some("2026-03-01..2026-04-30"))];
        assert!(matches!(
            NewEvidence::new(draft("2026-03-31", late), bytes(1), today, created),
            Err(EvidenceError::PeriodAfterEffective { .. })
        ));
        let mut wrong = bytes(1);
        wrong.media_type = "pdf".into();
        assert!(matches!(
            NewEvidence::new(draft("2026-03-31", one), wrong, today, created),
            Err(EvidenceError::MediaType(_))
        ));
    }

    #[test]
    fn links_are_kept_sorted_by_control() {
        let links = vec![link("c2", None), link("c1", Some("2026-03-01..2026-03-31"))];
        let new =
            NewEvidence::new(draft("2026-03-31", links), bytes(1), date("2026-12-01"), date("2026-01-01")).unwrap();
        assert_eq!(new.links.iter().map(|l| l.control.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
    }

    #[test]
    fn periods_parse_and_refuse_reversed_malformed_or_absurd_input() {
        let p = parse_period(" 2026-01-01..2026-03-31 ").unwrap();
        assert_eq!((p.from(), p.to()), (date("2026-01-01"), date("2026-03-31")));
        assert!(matches!(parse_period("2026-03-31..2026-01-01"), Err(EvidenceError::Period(_))));
        assert!(matches!(parse_period("1926-01-01..2026-01-01"), Err(EvidenceError::Date(_))));
        for bad in ["2026-01-01", "2026-01-01..", "x..y", "2026-13-01..2026-12-31"] {
            assert!(matches!(parse_period(bad), Err(EvidenceError::PeriodSyntax(_))), "{bad}");
        }
    }
}
