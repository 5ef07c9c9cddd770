//! The risk register: assets, the organisation's risk methodology (a likelihood × impact matrix
//! with levels and acceptance criteria), risks with their treatment, acceptance, what is due,
//! and the heat map. ISO/IEC 27001 6.1.2, 6.1.3, 8.2, 8.3; SOC 2 CC3.
//!
//! Pure: dates and times are parameters.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AssetCode, ControlCode, Email, RiskCode};
use crate::macros::named_enum;
use crate::rbac::Role;

named_enum! {
    /// What kind of thing an asset is.
    pub enum AssetKind as "asset type" {
        Information = "information",
        Software = "software",
        Hardware = "hardware",
        Service = "service",
        People = "people",
        Site = "site",
    }
}

named_enum! {
    /// How an asset's information is classified.
    pub enum Classification as "classification" {
        Public = "public",
        Internal = "internal",
        Confidential = "confidential",
        Restricted = "restricted",
    }
}

named_enum! {
    /// The risk treatment option (ISO/IEC 27005).
    pub enum Treatment as "treatment" {
        /// Reduce the risk with controls.
        Modify = "modify",
        /// Accept the risk as it is.
        Retain = "retain",
        /// Stop the activity that causes it.
        Avoid = "avoid",
        /// Transfer part of it (insurance, a supplier).
        Share = "share",
    }
}

/// Something of value the organisation protects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub code: AssetCode,
    pub name: String,
    pub kind: AssetKind,
    pub owner: Option<Email>,
    pub classification: Classification,
    /// Confidentiality, integrity and availability value, 1 (low) to 5 (critical).
    pub confidentiality: u8,
    pub integrity: u8,
    pub availability: u8,
    pub parent: Option<AssetCode>,
}

/// A named step of a scale (likelihood "Rare" … "Almost certain").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleLevel {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A band of scores with a name and a colour ("High", ≥ 15, #d9534f).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskLevel {
    pub name: String,
    /// The lowest score in this band.
    pub min_score: u32,
    /// `#rrggbb`
    pub colour: String,
}

/// A methodology as written (a file, a form): not yet checked. [`Methodology::new`] checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodologyDraft {
    pub likelihood: Vec<ScaleLevel>,
    pub impact: Vec<ScaleLevel>,
    /// `scores[likelihood - 1][impact - 1]`; likelihood × impact when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<Vec<u32>>>,
    /// Ascending by `min_score`; the first starts at or below the lowest score.
    pub levels: Vec<RiskLevel>,
    /// The level at or below which a residual risk may be retained (accepted).
    pub acceptance_level: String,
}

/// Why a methodology, a rating or a risk is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskError {
    #[error("the matrix must have 3 to 5 {axis} levels, not {count}")]
    ScaleSize { axis: &'static str, count: usize },
    #[error("the score matrix must have one row per likelihood level and one column per impact level")]
    MatrixShape,
    #[error("scores must not fall as likelihood or impact rises (likelihood {likelihood}, impact {impact})")]
    MatrixNotMonotone { likelihood: usize, impact: usize },
    #[error("risk levels must be listed by ascending min_score, the first starting at or below {lowest}")]
    LevelOrder { lowest: u32 },
    #[error("colour {0:?} of a risk level is not #rrggbb")]
    Colour(String),
    #[error("the acceptance level {0:?} is not one of the risk levels")]
    AcceptanceLevel(String),
    #[error("{axis} {value} is outside the 1–{max} scale of the methodology")]
    OutOfScale { axis: &'static str, value: u8, max: usize },
    #[error(
        "the residual score {residual} is above the inherent score {inherent}: say why with a residual justification"
    )]
    ResidualAboveInherent { inherent: u32, residual: u32 },
    #[error("treatment `modify` needs at least one control that treats the risk")]
    ModifyWithoutControls,
    #[error("planned control {0} needs a due date")]
    PlannedWithoutDueDate(ControlCode),
    #[error("control {0} is listed twice")]
    DuplicateControl(ControlCode),
    #[error("{0} is neither the risk owner nor an administrator, so may not accept the risk")]
    NotOwnerOrAdmin(Email),
    #[error("the acceptance expiry {expires} is not after today ({today})")]
    ExpiryNotInFuture { expires: NaiveDate, today: NaiveDate },
    #[error(
        "the acceptance expiry {expires} is more than three years away: accept for at most one certification cycle, then review"
    )]
    ExpiryTooFar { expires: NaiveDate },
    #[error("the residual level {level} is above the acceptance criteria ({criteria}): treat the risk further first")]
    AboveAcceptanceCriteria { level: String, criteria: String },
    #[error("asset {0} cannot be its own ancestor")]
    AssetCycle(AssetCode),
    #[error("{field} value {value} of asset {asset} is outside 1–5")]
    AssetValue { asset: AssetCode, field: &'static str, value: u8 },
}

/// How an organisation rates risks: a validated [`MethodologyDraft`], read through `Deref` and
/// never changed in place. Each change is a new version; a risk keeps the version it was assessed
/// with. Deserialising validates, so a stored or uploaded methodology is proof of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MethodologyDraft", into = "MethodologyDraft")]
pub struct Methodology(MethodologyDraft);

impl std::ops::Deref for Methodology {
    type Target = MethodologyDraft;
    fn deref(&self) -> &MethodologyDraft {
        &self.0
    }
}

impl TryFrom<MethodologyDraft> for Methodology {
    type Error = RiskError;
    fn try_from(draft: MethodologyDraft) -> Result<Self, RiskError> {
        Methodology::new(draft)
    }
}

impl From<Methodology> for MethodologyDraft {
    fn from(methodology: Methodology) -> MethodologyDraft {
        methodology.0
    }
}

impl MethodologyDraft {
    /// Why this methodology cannot be used, if it cannot.
    pub fn validate(&self) -> Result<(), RiskError> {
        for (axis, levels) in [("likelihood", &self.likelihood), ("impact", &self.impact)] {
            if !(MIN_SCALE..=MAX_SCALE).contains(&levels.len()) {
                return Err(RiskError::ScaleSize { axis, count: levels.len() });
            }
        }
        if let Some(scores) = &self.scores
            && (scores.len() != self.likelihood.len() || scores.iter().any(|row| row.len() != self.impact.len()))
        {
            return Err(RiskError::MatrixShape);
        }
        for l in 1..=self.likelihood.len() {
            for i in 1..=self.impact.len() {
                let here = self.cell(l, i);
                if (l > 1 && self.cell(l - 1, i) > here) || (i > 1 && self.cell(l, i - 1) > here) {
                    return Err(RiskError::MatrixNotMonotone { likelihood: l, impact: i });
                }
            }
        }
        let lowest = self.cell(1, 1);
        let ascending = self.levels.windows(2).all(|w| w[0].min_score < w[1].min_score);
        if self.levels.is_empty() || !ascending || self.levels[0].min_score > lowest {
            return Err(RiskError::LevelOrder { lowest });
        }
        for level in &self.levels {
            let ok = level.colour.len() == 7
                && level.colour.starts_with('#')
                && level.colour[1..].chars().all(|c| c.is_ascii_hexdigit());
            if !ok {
                return Err(RiskError::Colour(level.colour.clone()));
            }
        }
        if !self.levels.iter().any(|l| l.name == self.acceptance_level) {
            return Err(RiskError::AcceptanceLevel(self.acceptance_level.clone()));
        }
        Ok(())
    }

    fn cell(&self, likelihood: usize, impact: usize) -> u32 {
        match &self.scores {
            Some(scores) => scores[likelihood - 1][impact - 1],
            None => (likelihood * impact) as u32,
        }
    }
}

impl Methodology {
    /// A methodology, once its draft is valid.
    pub fn new(draft: MethodologyDraft) -> Result<Self, RiskError> {
        draft.validate()?;
        Ok(Self(draft))
    }

    /// The draft, to edit into a new version.
    pub fn into_draft(self) -> MethodologyDraft {
        self.0
    }

    /// Always `Ok`: a `Methodology` was validated when it was made. Kept for callers that check
    /// what they read as a matter of course.
    pub fn validate(&self) -> Result<(), RiskError> {
        self.0.validate()
    }

    /// The score of a rating, or why the rating does not fit this methodology's matrix (a rating
    /// made under a larger one).
    pub fn score(&self, rating: Rating) -> Result<u32, RiskError> {
        for (axis, value) in [("likelihood", rating.likelihood), ("impact", rating.impact)] {
            self.on_scale(axis, value)?;
        }
        Ok(self.cell(usize::from(rating.likelihood), usize::from(rating.impact)))
    }

    /// A rating of this methodology's matrix: each value within its axis's scale.
    pub fn rating(&self, likelihood: u8, impact: u8) -> Result<Rating, RiskError> {
        self.on_scale("likelihood", likelihood)?;
        self.on_scale("impact", impact)?;
        Ok(Rating { likelihood, impact })
    }

    /// Whether `value` is a level of the scale of `axis` ("likelihood" or "impact").
    pub fn on_scale(&self, axis: &'static str, value: u8) -> Result<(), RiskError> {
        let max = if axis == "impact" { self.impact.len() } else { self.likelihood.len() };
        if value == 0 || usize::from(value) > max {
            return Err(RiskError::OutOfScale { axis, value, max });
        }
        Ok(())
    }

    /// The band a score falls in.
    pub fn level(&self, score: u32) -> &RiskLevel {
        self.levels.iter().rev().find(|l| l.min_score <= score).unwrap_or(&self.levels[0])
    }

    /// Whether a residual rating meets the acceptance criteria.
    pub fn acceptable(&self, rating: Rating) -> Result<bool, RiskError> {
        let score = self.score(rating)?;
        let criteria = self.levels.iter().find(|l| l.name == self.acceptance_level).map_or(0, |l| l.min_score);
        Ok(self.level(score).min_score <= criteria)
    }

    fn scale(names: &[&str]) -> Vec<ScaleLevel> {
        names.iter().map(|n| ScaleLevel { name: (*n).to_owned(), description: String::new() }).collect()
    }

    fn bands(bands: &[(&str, u32, &str)]) -> Vec<RiskLevel> {
        bands
            .iter()
            .map(|(name, min, colour)| RiskLevel { name: (*name).into(), min_score: *min, colour: (*colour).into() })
            .collect()
    }

    /// A 5 × 5 matrix, score = likelihood × impact (1–25).
    pub fn five_by_five() -> Methodology {
        Methodology(MethodologyDraft {
            likelihood: Self::scale(&["Rare", "Unlikely", "Possible", "Likely", "Almost certain"]),
            impact: Self::scale(&["Negligible", "Minor", "Moderate", "Major", "Severe"]),
            scores: None,
            levels: Self::bands(&[
                ("Low", 1, "#5cb85c"),
                ("Medium", 5, "#f0ad4e"),
                ("High", 10, "#d9534f"),
                ("Critical", 17, "#7b1e1e"),
            ]),
            acceptance_level: "Medium".into(),
        })
    }

    /// A 4 × 4 matrix, score = likelihood × impact (1–16).
    pub fn four_by_four() -> Methodology {
        Methodology(MethodologyDraft {
            likelihood: Self::scale(&["Unlikely", "Possible", "Likely", "Almost certain"]),
            impact: Self::scale(&["Minor", "Moderate", "Major", "Severe"]),
            scores: None,
            levels: Self::bands(&[("Low", 1, "#5cb85c"), ("Medium", 4, "#f0ad4e"), ("High", 9, "#d9534f")]),
            acceptance_level: "Medium".into(),
        })
    }

    /// A 3 × 3 matrix, score = likelihood × impact (1–9).
    pub fn three_by_three() -> Methodology {
        Methodology(MethodologyDraft {
            likelihood: Self::scale(&["Low", "Medium", "High"]),
            impact: Self::scale(&["Low", "Medium", "High"]),
            scores: None,
            levels: Self::bands(&[("Low", 1, "#5cb85c"), ("Medium", 3, "#f0ad4e"), ("High", 6, "#d9534f")]),
            acceptance_level: "Low".into(),
        })
    }
}

/// One version of an organisation's risk methodology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodologyVersion {
    pub version: i64,
    pub methodology: Methodology,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// The fewest levels a methodology's scale may have.
pub const MIN_SCALE: usize = 3;
/// The most levels a methodology's scale may have.
pub const MAX_SCALE: usize = 5;

/// Likelihood and impact, each 1-based on a methodology's scales: never 0, never beyond the
/// largest scale a methodology may have. [`Methodology::rating`] makes one within a given matrix;
/// [`Methodology::score`] says whether a stored one still fits a later version's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RatingParts")]
pub struct Rating {
    likelihood: u8,
    impact: u8,
}

#[derive(Deserialize)]
struct RatingParts {
    likelihood: u8,
    impact: u8,
}

impl TryFrom<RatingParts> for Rating {
    type Error = RiskError;

    fn try_from(parts: RatingParts) -> Result<Self, RiskError> {
        Rating::new(parts.likelihood, parts.impact)
    }
}

impl Rating {
    /// A rating on some matrix: each value from 1 to [`MAX_SCALE`].
    pub fn new(likelihood: u8, impact: u8) -> Result<Self, RiskError> {
        for (axis, value) in [("likelihood", likelihood), ("impact", impact)] {
            if value == 0 || usize::from(value) > MAX_SCALE {
                return Err(RiskError::OutOfScale { axis, value, max: MAX_SCALE });
            }
        }
        Ok(Self { likelihood, impact })
    }

    pub fn likelihood(self) -> u8 {
        self.likelihood
    }

    pub fn impact(self) -> u8 {
        self.impact
    }
}

/// A control that treats a risk: in place, or planned with a due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Treating {
    pub control: ControlCode,
    pub planned: bool,
    pub due: Option<NaiveDate>,
}

/// A risk owner's acceptance of the residual risk, until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    pub by: Email,
    pub at: DateTime<Utc>,
    pub expires: NaiveDate,
    pub note: String,
    /// What was accepted: the residual rating and treatment at the time. Absent for acceptances
    /// recorded before evident kept them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<Terms>,
}

/// The residual rating and treatment an acceptance was given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    pub residual: Rating,
    pub treatment: Treatment,
}

impl Acceptance {
    /// An acceptance of `risk` as it stands now.
    pub fn of(risk: &Risk, by: Email, at: DateTime<Utc>, expires: NaiveDate, note: String) -> Self {
        Self { by, at, expires, note, terms: Some(Terms { residual: risk.residual, treatment: risk.treatment }) }
    }
}

/// Why an acceptance no longer holds, though it has not expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "lapsed", rename_all = "snake_case")]
pub enum Lapse {
    /// The risk was re-rated since it was accepted.
    Rerated { accepted: Rating, now: Rating },
    /// The treatment changed since it was accepted.
    TreatmentChanged { accepted: Treatment, now: Treatment },
    /// The residual level is now above the acceptance criteria of the methodology.
    AboveCriteria { level: String, criteria: String },
}

impl std::fmt::Display for Lapse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lapse::Rerated { accepted, now } => write!(
                f,
                "re-rated from residual {}×{} to {}×{} since it was accepted",
                accepted.likelihood, accepted.impact, now.likelihood, now.impact
            ),
            Lapse::TreatmentChanged { accepted, now } => {
                write!(f, "its treatment changed from {accepted} to {now} since it was accepted")
            }
            Lapse::AboveCriteria { level, criteria } => {
                write!(f, "its residual level {level} is now above the acceptance criteria ({criteria})")
            }
        }
    }
}

/// Whether a risk's acceptance still holds: not re-rated, same treatment, and within the criteria
/// of `methodology` (the one the risk is assessed with). Expiry is [`due`]'s to report.
pub fn acceptance_lapse(risk: &Risk, methodology: Option<&Methodology>) -> Option<Lapse> {
    let acceptance = risk.acceptance.as_ref()?;
    if let Some(terms) = acceptance.terms {
        if terms.residual != risk.residual {
            return Some(Lapse::Rerated { accepted: terms.residual, now: risk.residual });
        }
        if terms.treatment != risk.treatment {
            return Some(Lapse::TreatmentChanged { accepted: terms.treatment, now: risk.treatment });
        }
    }
    let methodology = methodology?;
    match methodology.acceptable(risk.residual) {
        Ok(true) | Err(_) => None,
        Ok(false) => Some(Lapse::AboveCriteria {
            level: methodology.score(risk.residual).map(|s| methodology.level(s).name.clone()).unwrap_or_default(),
            criteria: methodology.acceptance_level.clone(),
        }),
    }
}

/// A risk as assessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    pub code: RiskCode,
    pub title: String,
    pub description: String,
    pub assets: Vec<AssetCode>,
    pub threat: String,
    pub vulnerability: String,
    pub owner: Email,
    /// The methodology version the ratings were made with.
    pub methodology: i64,
    pub inherent: Rating,
    pub treatment: Treatment,
    pub controls: Vec<Treating>,
    pub residual: Rating,
    pub residual_justification: String,
    pub review_date: NaiveDate,
    pub acceptance: Option<Acceptance>,
    /// A closed risk stays on record but is no longer open.
    pub closed: bool,
}

impl Risk {
    /// Checks a risk against the methodology it is assessed with.
    pub fn validate(&self, methodology: &Methodology) -> Result<(), RiskError> {
        let inherent = methodology.score(self.inherent)?;
        let residual = methodology.score(self.residual)?;
        if residual > inherent && self.residual_justification.trim().is_empty() {
            return Err(RiskError::ResidualAboveInherent { inherent, residual });
        }
        if self.treatment == Treatment::Modify && self.controls.is_empty() {
            return Err(RiskError::ModifyWithoutControls);
        }
        let mut seen = HashSet::new();
        for treating in &self.controls {
            if !seen.insert(&treating.control) {
                return Err(RiskError::DuplicateControl(treating.control.clone()));
            }
            if treating.planned && treating.due.is_none() {
                return Err(RiskError::PlannedWithoutDueDate(treating.control.clone()));
            }
        }
        Ok(())
    }
}

/// The longest an acceptance may run: one three-year certification cycle.
pub const MAX_ACCEPTANCE_DAYS: u64 = 3 * 366;

/// Whether `who`, with `role`, may accept `risk`: only its owner or an administrator.
pub fn may_accept(risk: &Risk, who: &Email, role: Role) -> Result<(), RiskError> {
    if &risk.owner == who || role == Role::Admin { Ok(()) } else { Err(RiskError::NotOwnerOrAdmin(who.clone())) }
}

/// Checks an acceptance: the right person, an expiry after today, a residual within the criteria.
pub fn check_acceptance(
    risk: &Risk,
    methodology: &Methodology,
    who: &Email,
    role: Role,
    today: NaiveDate,
    expires: NaiveDate,
) -> Result<(), RiskError> {
    may_accept(risk, who, role)?;
    if expires <= today {
        return Err(RiskError::ExpiryNotInFuture { expires, today });
    }
    if expires > today + chrono::Days::new(MAX_ACCEPTANCE_DAYS) {
        return Err(RiskError::ExpiryTooFar { expires });
    }
    if !methodology.acceptable(risk.residual)? {
        let level = methodology.level(methodology.score(risk.residual)?).name.clone();
        return Err(RiskError::AboveAcceptanceCriteria { level, criteria: methodology.acceptance_level.clone() });
    }
    Ok(())
}

/// Why a risk needs attention today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Due {
    ReviewOverdue {
        since: NaiveDate,
    },
    AcceptanceExpired {
        since: NaiveDate,
    },
    /// Accepted, but the acceptance no longer holds.
    AcceptanceLapsed {
        lapse: Lapse,
    },
    /// Retained, but nobody has accepted the residual risk.
    NotAccepted,
    PlannedControlOverdue {
        control: ControlCode,
        since: NaiveDate,
    },
}

impl std::fmt::Display for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Due::ReviewOverdue { since } => write!(f, "review overdue since {since}"),
            Due::AcceptanceExpired { since } => write!(f, "acceptance expired on {since}"),
            Due::AcceptanceLapsed { lapse } => write!(f, "the acceptance no longer holds: {lapse}"),
            Due::NotAccepted => f.write_str("retained but nobody has accepted it"),
            Due::PlannedControlOverdue { control, since } => write!(f, "planned control {control} was due {since}"),
        }
    }
}

/// What is due on `today` for one open risk; closed risks are never due. `methodology` is the one
/// the risk is assessed with, to tell whether an acceptance still meets its criteria.
pub fn due(risk: &Risk, methodology: Option<&Methodology>, today: NaiveDate) -> Vec<Due> {
    if risk.closed {
        return Vec::new();
    }
    let mut due = Vec::new();
    if risk.review_date < today {
        due.push(Due::ReviewOverdue { since: risk.review_date });
    }
    match &risk.acceptance {
        Some(a) if a.expires <= today => due.push(Due::AcceptanceExpired { since: a.expires }),
        Some(_) => {
            if let Some(lapse) = acceptance_lapse(risk, methodology) {
                due.push(Due::AcceptanceLapsed { lapse });
            }
        }
        None if risk.treatment == Treatment::Retain => due.push(Due::NotAccepted),
        None => {}
    }
    for treating in &risk.controls {
        if let Some(date) = treating.due.filter(|d| treating.planned && *d < today) {
            due.push(Due::PlannedControlOverdue { control: treating.control.clone(), since: date });
        }
    }
    due
}

/// Inherent and residual counts per cell of one methodology version's matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeatMap {
    pub methodology: i64,
    pub likelihood: Vec<String>,
    pub impact: Vec<String>,
    /// `inherent[likelihood - 1][impact - 1]`: how many open risks sit in that cell.
    pub inherent: Vec<Vec<usize>>,
    pub residual: Vec<Vec<usize>>,
    /// `colours[likelihood - 1][impact - 1]`: the cell's risk-level colour.
    pub colours: Vec<Vec<String>>,
    /// Open risks assessed with an earlier methodology, not placed on this matrix.
    pub other_versions: usize,
}

pub fn heat_map(version: i64, methodology: &Methodology, risks: &[Risk]) -> HeatMap {
    let (l, i) = (methodology.likelihood.len(), methodology.impact.len());
    let mut map = HeatMap {
        methodology: version,
        likelihood: methodology.likelihood.iter().map(|s| s.name.clone()).collect(),
        impact: methodology.impact.iter().map(|s| s.name.clone()).collect(),
        inherent: vec![vec![0; i]; l],
        residual: vec![vec![0; i]; l],
        colours: (1..=l)
            .map(|li| (1..=i).map(|ii| methodology.level(methodology.cell(li, ii)).colour.clone()).collect())
            .collect(),
        other_versions: 0,
    };
    for risk in risks.iter().filter(|r| !r.closed) {
        if risk.methodology != version
            || methodology.score(risk.inherent).is_err()
            || methodology.score(risk.residual).is_err()
        {
            map.other_versions += 1;
            continue;
        }
        map.inherent[usize::from(risk.inherent.likelihood) - 1][usize::from(risk.inherent.impact) - 1] += 1;
        map.residual[usize::from(risk.residual.likelihood) - 1][usize::from(risk.residual.impact) - 1] += 1;
    }
    map
}

/// Checks an asset's values and that setting its parent makes no cycle. `parent_of` gives the
/// current parent of any other asset.
pub fn check_asset(asset: &Asset, parent_of: impl Fn(&AssetCode) -> Option<AssetCode>) -> Result<(), RiskError> {
    for (field, value) in [
        ("confidentiality", asset.confidentiality),
        ("integrity", asset.integrity),
        ("availability", asset.availability),
    ] {
        if !(1..=5).contains(&value) {
            return Err(RiskError::AssetValue { asset: asset.code.clone(), field, value });
        }
    }
    let mut current = asset.parent.clone();
    let mut steps = 0;
    while let Some(code) = current {
        if code == asset.code || steps > 10_000 {
            return Err(RiskError::AssetCycle(asset.code.clone()));
        }
        current = parent_of(&code);
        steps += 1;
    }
    Ok(())
}
