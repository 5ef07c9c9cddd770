//! The gap delta: "we have framework A, what does framework B add?"
//!
//! For each requirement of the target that is not yet covered, the organisation's existing controls
//! that reach it through the crosswalk (control → its requirement in the source framework → link →
//! target requirement), each with the path as the explanation and a suggested coverage; and,
//! separately, the uncovered requirements that no crosswalk link reaches at all.

use std::collections::HashMap;

use serde::Serialize;

use crate::control::{Coverage, ImplementationStatus, Mapping};
use crate::crosswalk::{CrosswalkLink, Relationship};
use crate::framework::Framework;
use crate::ids::{ControlCode, FrameworkId, RequirementRef};
use crate::readiness::{Explanation, MappingIndex, RequirementStatus, Status};

/// An existing control that reaches a target requirement through the crosswalk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub control: ControlCode,
    pub control_status: ImplementationStatus,
    /// The source-framework requirement the control is mapped to.
    pub via: RequirementRef,
    pub relationship: Relationship,
    pub strength: crate::crosswalk::Strength,
    /// The coverage a mapping created from this suggestion gets.
    pub coverage: Coverage,
    /// `control IAM-01 → CC6.1 → intersects → A.5.15`
    pub path: String,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapItem {
    #[serde(rename = "ref")]
    pub reference: RequirementRef,
    pub title: String,
    pub status: Status,
    pub reason: Explanation,
    pub suggestions: Vec<Suggestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub from: FrameworkId,
    pub to: FrameworkId,
    /// Target requirements that are covered already or not applicable.
    pub covered: usize,
    /// Uncovered target requirements that the crosswalk reaches.
    pub uncovered: Vec<GapItem>,
    /// Uncovered target requirements that no crosswalk link reaches: work no other framework did.
    pub unreached: Vec<GapItem>,
}

impl Suggestion {
    /// The mapping accepting this suggestion creates, with its crosswalk path as its provenance.
    pub fn to_mapping(&self, from: &FrameworkId, to: &FrameworkId, requirement: &RequirementRef) -> Mapping {
        Mapping {
            control: self.control.clone(),
            framework: to.clone(),
            requirement: requirement.clone(),
            coverage: self.coverage,
            rationale: format!("Accepted from the {from} → {to} crosswalk: {}. {}", self.path, self.rationale),
        }
    }
}

/// How much of the target a control meets, given how much of the source it meets and the link.
pub fn suggested_coverage(source: Coverage, relationship: Relationship) -> Coverage {
    match relationship {
        // The source asks everything the target asks (or exactly it): what meets one meets the other.
        Relationship::Equal | Relationship::SupersetOf => source,
        // The target asks more, or other things too: at most a part of it.
        Relationship::SubsetOf | Relationship::Intersects => Coverage::Partial,
    }
}

/// Computes the gap from `from` to `target`. `statuses` is the target's readiness drill-down;
/// `links` are the crosswalk links read from `from` to the target. A link to a point of focus
/// (guidance) of the target reaches the requirement it sits under; a link from a point of focus of
/// `source` is followed by the controls mapped to it, and by those mapped in full to the
/// requirement it sits under (a full mapping claims every point of focus).
pub fn gap(
    from: &FrameworkId,
    target: &Framework,
    statuses: &[RequirementStatus],
    links: &[CrosswalkLink],
    index: &MappingIndex<'_>,
) -> Gap {
    gap_between(None, from, target, statuses, links, index)
}

/// [`gap`], knowing the source framework, so that links from its points of focus are also
/// followed by the controls mapped in full to the requirement they sit under.
pub fn gap_between(
    source: Option<&Framework>,
    from: &FrameworkId,
    target: &Framework,
    statuses: &[RequirementStatus],
    links: &[CrosswalkLink],
    index: &MappingIndex<'_>,
) -> Gap {
    let mut links_to: HashMap<&RequirementRef, Vec<&CrosswalkLink>> = HashMap::new();
    for link in links {
        let to = match target.requirement(&link.to) {
            Some(r) if target.is_guidance(&link.to) => r.parent.as_ref().unwrap_or(&link.to),
            _ => &link.to,
        };
        links_to.entry(to).or_default().push(link);
    }
    // The requirement a point of focus of the source sits under, whose full mappings reach it too.
    let parent_of = |reference: &RequirementRef| {
        source
            .filter(|s| s.is_guidance(reference))
            .and_then(|s| s.requirement(reference))
            .and_then(|r| r.parent.clone())
    };
    let mut gap =
        Gap { from: from.clone(), to: target.id().clone(), covered: 0, uncovered: Vec::new(), unreached: Vec::new() };
    for status in statuses {
        if matches!(status.status, Status::Covered | Status::NotApplicable) {
            gap.covered += 1;
            continue;
        }
        let reaching = links_to.get(&status.reference).map_or(&[][..], Vec::as_slice);
        let mut suggestions: Vec<Suggestion> = Vec::new();
        for link in reaching {
            let parent = parent_of(&link.from);
            let through_parent = parent
                .as_ref()
                .map_or(&[][..], |p| index.for_requirement(from, p))
                .iter()
                .filter(|(m, _)| m.coverage == Coverage::Full);
            for (mapping, control) in index.for_requirement(from, &link.from).iter().chain(through_parent) {
                // Controls already mapped to the target requirement are not suggestions.
                if status.controls.iter().any(|c| c.control == control.code) {
                    continue;
                }
                let suggestion = Suggestion {
                    control: control.code.clone(),
                    control_status: control.status,
                    via: link.from.clone(),
                    relationship: link.relationship,
                    strength: link.strength,
                    coverage: suggested_coverage(mapping.coverage, link.relationship),
                    path: format!("control {} → {} → {} → {}", control.code, link.from, link.relationship, link.to),
                    rationale: link.rationale.clone(),
                };
                // One suggestion per control: the strongest path, fullest coverage first.
                match suggestions.iter_mut().find(|s| s.control == suggestion.control) {
                    Some(existing)
                        if (suggestion.coverage == Coverage::Full, suggestion.strength)
                            > (existing.coverage == Coverage::Full, existing.strength) =>
                    {
                        *existing = suggestion;
                    }
                    Some(_) => {}
                    None => suggestions.push(suggestion),
                }
            }
        }
        suggestions.sort_by(|a, b| {
            (b.coverage == Coverage::Full, b.strength)
                .cmp(&(a.coverage == Coverage::Full, a.strength))
                .then_with(|| crate::ids::natural_cmp(a.control.as_str(), b.control.as_str()))
        });
        let item = GapItem {
            reference: status.reference.clone(),
            title: status.title.clone(),
            status: status.status,
            reason: status.reason.clone(),
            suggestions,
        };
        if reaching.is_empty() {
            gap.unreached.push(item);
        } else {
            gap.uncovered.push(item);
        }
    }
    gap
}
