//! Filtering and grouping by requirement attributes (ISO 27002's control type, security
//! properties, cybersecurity concepts, operational capabilities and security domains; any
//! attribute a framework's data carries): one rule for readiness, the SoA and the controls list.
//!
//! The rule: a requirement matches `key=value` when it carries the attribute `key` (or `key` with
//! a plural `s`, so `security_domain` finds `security_domains`) and the value is one of its values,
//! compared without regard to case and to `_`, `-` or spaces (`defence` finds `Defence`,
//! `governance and ecosystem` finds `Governance_and_Ecosystem`); a yes/no attribute matches
//! `true` or `false`. Several filters must all match.

use std::collections::BTreeMap;
use std::str::FromStr;

use evident_core::framework::AttrValue;
use evident_core::readiness::{GroupScore, Readiness};
use evident_core::soa::SoaRow;
use evident_core::{Framework, FrameworkId, Requirement};
use serde::Serialize;

use crate::controls::ControlView;
use crate::error::{AppError, Result};
use crate::library::Library;
use crate::{App, Principal};

/// `key=value`: requirements carrying that attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeFilter {
    key: String,
    value: String,
}

impl AttributeFilter {
    pub fn parse(text: &str) -> Result<Self> {
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| AppError::invalid(format!("attribute filter {text:?} is not KEY=VALUE")))?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            return Err(AppError::invalid(format!("attribute filter {text:?} needs both a key and a value")));
        }
        Ok(Self { key: key.to_lowercase(), value: value.to_owned() })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether `requirement` carries this attribute value.
    pub fn matches(&self, requirement: &Requirement) -> bool {
        let wanted = normalise(&self.value);
        values_of(requirement, &self.key).iter().any(|v| normalise(v) == wanted)
    }
}

impl FromStr for AttributeFilter {
    type Err = AppError;
    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

impl std::fmt::Display for AttributeFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

fn normalise(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, '_' | '-' | ' ')).flat_map(char::to_lowercase).collect()
}

/// The values of attribute `key` on `requirement` (`key` or its plural), as text; none when it
/// does not carry it.
pub fn values_of(requirement: &Requirement, key: &str) -> Vec<String> {
    let key = key.to_lowercase();
    let value = requirement.attributes.get(&key).or_else(|| requirement.attributes.get(&format!("{key}s")));
    match value {
        None => Vec::new(),
        Some(AttrValue::Bool(b)) => vec![b.to_string()],
        Some(AttrValue::Text(t)) => vec![t.clone()],
        Some(AttrValue::List(l)) => l.clone(),
    }
}

/// Whether `requirement` matches every filter.
pub fn matches_all(filters: &[AttributeFilter], requirement: &Requirement) -> bool {
    filters.iter().all(|f| f.matches(requirement))
}

/// What to select and how to group, as a front end's flags give it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeView {
    pub filters: Vec<AttributeFilter>,
    /// An attribute to group by.
    pub group_by: Option<String>,
}

impl AttributeView {
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty() && self.group_by.is_none()
    }
}

/// One framework's readiness scores grouped by the values of one attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeScores {
    pub framework: FrameworkId,
    pub attribute: String,
    pub groups: Vec<GroupScore>,
}

/// Readiness restricted to the requirements the filters select, and grouped when asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadinessView {
    #[serde(flatten)]
    pub readiness: Readiness,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_attribute: Vec<AttributeScores>,
}

/// Applies `view` to a readiness computed over `library`: keeps the requirements matching every
/// filter (scores recomputed from them) and groups each framework's by the attribute asked.
pub fn select_readiness(mut readiness: Readiness, library: &Library, view: &AttributeView) -> Result<ReadinessView> {
    let mut by_attribute = Vec::new();
    for f in &mut readiness.frameworks {
        let framework = library.framework(&f.framework)?;
        let requirement = |r: &evident_core::readiness::RequirementStatus| framework.requirement(&r.reference);
        if !view.filters.is_empty() {
            f.retain(framework, |r| requirement(r).is_some_and(|q| matches_all(&view.filters, q)));
        }
        if let Some(key) = &view.group_by {
            let groups = f.scores_by(|r| requirement(r).map(|q| values_of(q, key)).unwrap_or_default());
            if !groups.is_empty() {
                by_attribute.push(AttributeScores { framework: f.framework.clone(), attribute: key.clone(), groups });
            }
        }
    }
    if !view.filters.is_empty() {
        readiness.rescore();
    }
    Ok(ReadinessView { readiness, by_attribute })
}

/// SoA rows of `framework` matching every filter, grouped by the attribute asked (one group,
/// named "", when none is asked; a row with several values sits in each of its groups).
pub fn select_soa(rows: Vec<SoaRow>, framework: &Framework, view: &AttributeView) -> Vec<(String, Vec<SoaRow>)> {
    let rows: Vec<SoaRow> = rows
        .into_iter()
        .filter(|row| framework.requirement(&row.reference).is_some_and(|r| matches_all(&view.filters, r)))
        .collect();
    let Some(key) = &view.group_by else {
        return vec![(String::new(), rows)];
    };
    let mut groups: Vec<(String, Vec<SoaRow>)> = Vec::new();
    for row in rows {
        let values = framework.requirement(&row.reference).map(|r| values_of(r, key)).unwrap_or_default();
        for value in values {
            match groups.iter_mut().find(|(v, _)| *v == value) {
                Some((_, members)) => members.push(row.clone()),
                None => groups.push((value, vec![row.clone()])),
            }
        }
    }
    groups
}

/// Controls mapped to at least one requirement matching every filter, grouped by the values of
/// the attribute asked on the requirements they are mapped to (one group, named "", when none is
/// asked).
pub fn select_controls(
    controls: Vec<ControlView>,
    library: &Library,
    view: &AttributeView,
) -> Vec<(String, Vec<ControlView>)> {
    let requirement = |m: &evident_core::Mapping| {
        library.framework(&m.framework).ok().and_then(|f| f.requirement(&m.requirement)).cloned()
    };
    let selected: Vec<(ControlView, Vec<Requirement>)> = controls
        .into_iter()
        .filter_map(|c| {
            let matching: Vec<Requirement> =
                c.mappings.iter().filter_map(requirement).filter(|r| matches_all(&view.filters, r)).collect();
            (view.filters.is_empty() || !matching.is_empty()).then_some((c, matching))
        })
        .collect();
    let Some(key) = &view.group_by else {
        return vec![(String::new(), selected.into_iter().map(|(c, _)| c).collect())];
    };
    let mut groups: BTreeMap<String, Vec<ControlView>> = BTreeMap::new();
    for (control, matching) in selected {
        let mut values: Vec<String> = matching.iter().flat_map(|r| values_of(r, key)).collect();
        values.sort();
        values.dedup();
        for value in values {
            groups.entry(value).or_default().push(control.clone());
        }
    }
    groups.into_iter().collect()
}

impl App {
    /// Readiness (of every adopted framework, or one) with `view` applied.
    pub async fn readiness_view(
        &self,
        principal: &Principal,
        only: Option<&FrameworkId>,
        view: &AttributeView,
    ) -> Result<ReadinessView> {
        let readiness = self.readiness(principal, only).await?;
        let library = self.library_for(principal).await?;
        select_readiness(readiness, &library, view)
    }

    /// The current SoA with `view` applied.
    pub async fn soa_view(
        &self,
        principal: &Principal,
        framework: Option<&FrameworkId>,
        view: &AttributeView,
    ) -> Result<Vec<(String, Vec<SoaRow>)>> {
        let rows = self.soa(principal, framework).await?;
        let library = self.library_for(principal).await?;
        Ok(select_soa(rows, library.soa_framework_of(framework)?, view))
    }

    /// The controls list with `view` applied.
    pub async fn controls_view(
        &self,
        principal: &Principal,
        all: bool,
        view: &AttributeView,
    ) -> Result<Vec<(String, Vec<ControlView>)>> {
        let controls = self.controls(principal, all).await?;
        let library = self.library_for(principal).await?;
        Ok(select_controls(controls, &library, view))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn a_control() -> Requirement {
        let mut requirement: Requirement = serde_json::from_value(serde_json::json!({
            "ref": "A.8.16", "kind": "control", "title": "Monitoring activities",
            "description": "Watch for anomalous behaviour."
        }))
        .unwrap();
        requirement.attributes.insert(
            "security_domains".into(),
            AttrValue::List(vec!["Defence".into(), "Governance_and_Ecosystem".into()]),
        );
        requirement.attributes.insert("new_in_2022".into(), AttrValue::Bool(true));
        requirement
    }

    #[test]
    fn a_filter_matches_a_value_however_it_is_written() {
        let control = a_control();
        for text in [
            "security_domains=Defence",
            "security_domain=defence",
            "SECURITY_DOMAINS = governance and ecosystem",
            "security_domains=governance-and-ecosystem",
            "new_in_2022=true",
        ] {
            assert!(AttributeFilter::parse(text).unwrap().matches(&control), "{text}");
        }
        for text in ["security_domains=Resilience", "new_in_2022=false", "control_type=Detective"] {
            assert!(!AttributeFilter::parse(text).unwrap().matches(&control), "{text}");
        }
    }

    #[test]
    fn a_malformed_filter_is_refused_with_its_text() {
        for text in ["security_domains", "=defence", "security_domains="] {
            let error = AttributeFilter::parse(text).unwrap_err();
            assert_eq!(error.code, crate::Code::InvalidInput);
            assert!(error.message.contains(text), "{}", error.message);
        }
    }
}
