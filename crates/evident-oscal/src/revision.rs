//! A new revision of a catalog against the one imported before it: what was added, removed,
//! changed and moved, each explained, and a crosswalk from every assessed requirement of the old
//! revision to where it is in the new one, so the organisation's mappings can be carried over
//! with none left pointing nowhere.
//!
//! A requirement is the same across revisions when its ref (the OSCAL control id) is. It is
//! changed when its label, title, statement or parameters differ, moved when its parent (group,
//! or the control it enhances) does. One the new revision withdrew follows the catalog's own
//! `moved-to` and `incorporated-into` links; one that vanished without a link, or whose links lead
//! nowhere, is removed with no successor, and the crosswalk says so.

use std::collections::{BTreeMap, HashMap};

use evident_core::framework::{AttrValue, FrameworkData};
use evident_core::{FrameworkId, Requirement, RequirementRef};
use serde::Serialize;

/// One requirement that differs, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    #[serde(rename = "ref")]
    pub reference: RequirementRef,
    pub title: String,
    /// What differs, in a sentence (`title, statement changed`, `moved from ac to ia`).
    pub explanation: String,
}

/// How an old requirement relates to the new revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The same ref, the same text, the same place.
    Unchanged,
    /// The same ref; its text or parameters changed.
    Changed,
    /// The same ref under another parent (perhaps changed too).
    Moved,
    /// Withdrawn; the catalog says it moved to these.
    MovedTo,
    /// Withdrawn; the catalog says it is now part of these.
    IncorporatedInto,
    /// Gone, with nowhere to go: a mapping to it cannot be carried over.
    Removed,
}

/// Where one assessed requirement of the old revision is in the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Crossing {
    pub from: RequirementRef,
    pub relation: Relation,
    /// The new revision's assessed requirements it leads to (none when removed).
    pub to: Vec<RequirementRef>,
}

/// A new revision against the old.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevisionDiff {
    pub from: FrameworkId,
    pub to: FrameworkId,
    pub added: Vec<Difference>,
    pub removed: Vec<Difference>,
    pub changed: Vec<Difference>,
    pub moved: Vec<Difference>,
    pub unchanged: usize,
    /// Every assessed requirement of the old revision, in its order.
    pub crosswalk: Vec<Crossing>,
}

impl RevisionDiff {
    /// Where `reference` of the old revision leads.
    pub fn crossing(&self, reference: &RequirementRef) -> Option<&Crossing> {
        self.crosswalk.iter().find(|c| &c.from == reference)
    }
}

/// What differs between two texts of one requirement, named.
fn changes(old: &Requirement, new: &Requirement) -> Vec<&'static str> {
    let mut what = Vec::new();
    if old.label != new.label {
        what.push("label");
    }
    if old.title != new.title {
        what.push("title");
    }
    if old.description != new.description {
        what.push("statement");
    }
    if old.note != new.note {
        what.push("guidance");
    }
    let attribute = |r: &Requirement, key: &str| r.attributes.get(key).cloned();
    if attribute(old, "oscal_params") != attribute(new, "oscal_params") {
        what.push("parameters");
    }
    if attribute(old, "oscal_class") != attribute(new, "oscal_class") {
        what.push("class");
    }
    what
}

/// The control a requirement enhances, or its parent: where it sits.
fn place(requirement: &Requirement) -> Option<String> {
    match requirement.attributes.get("enhancement_of") {
        Some(AttrValue::Text(base)) => Some(format!("{base} (as an enhancement)")),
        _ => requirement.parent.as_ref().map(|p| p.as_str().to_owned()),
    }
}

fn is_leaf(data: &FrameworkData) -> impl Fn(&Requirement) -> bool + '_ {
    let parents: std::collections::HashSet<&RequirementRef> =
        data.requirements.iter().filter_map(|r| r.parent.as_ref()).collect();
    move |r: &Requirement| !parents.contains(&r.reference)
}

/// The new revision against the old; `successors` is where each control the new revision
/// withdrew went ([`crate::framework::Converted::successors`]).
pub fn diff(
    old: &FrameworkData,
    new: &FrameworkData,
    successors: &BTreeMap<String, Vec<(String, String)>>,
) -> RevisionDiff {
    let old_by_ref: HashMap<&RequirementRef, &Requirement> =
        old.requirements.iter().map(|r| (&r.reference, r)).collect();
    let new_by_ref: HashMap<&RequirementRef, &Requirement> =
        new.requirements.iter().map(|r| (&r.reference, r)).collect();
    let new_leaf = is_leaf(new);
    let old_leaf = is_leaf(old);
    let difference = |r: &Requirement, explanation: String| Difference {
        reference: r.reference.clone(),
        title: r.title.clone(),
        explanation,
    };
    let mut result = RevisionDiff {
        from: old.info.id.clone(),
        to: new.info.id.clone(),
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        moved: Vec::new(),
        unchanged: 0,
        crosswalk: Vec::new(),
    };
    for requirement in &new.requirements {
        if !old_by_ref.contains_key(&requirement.reference) {
            let explanation = match place(requirement) {
                Some(place) => format!("new in {}, under {place}", new.info.id),
                None => format!("new in {}", new.info.id),
            };
            result.added.push(difference(requirement, explanation));
        }
    }
    for old_requirement in &old.requirements {
        let reference = &old_requirement.reference;
        let crossing = match new_by_ref.get(reference) {
            Some(new_requirement) => {
                let changed = changes(old_requirement, new_requirement);
                let (from, to) = (place(old_requirement), place(new_requirement));
                let moved = from != to;
                if !changed.is_empty() {
                    result.changed.push(difference(new_requirement, format!("{} changed", changed.join(", "))));
                }
                if moved {
                    let at = |p: Option<String>| p.unwrap_or_else(|| "the top level".to_owned());
                    result.moved.push(difference(new_requirement, format!("moved from {} to {}", at(from), at(to))));
                }
                if changed.is_empty() && !moved {
                    result.unchanged += 1;
                }
                let relation = match (moved, changed.is_empty()) {
                    (true, _) => Relation::Moved,
                    (false, false) => Relation::Changed,
                    (false, true) => Relation::Unchanged,
                };
                // A requirement that now groups others is assessed through them.
                let to = if new_leaf(new_requirement) { vec![reference.clone()] } else { leaves_under(new, reference) };
                Crossing { from: reference.clone(), relation, to }
            }
            None => {
                let links = successors.get(reference.as_str()).map(Vec::as_slice).unwrap_or_default();
                let mut to: Vec<RequirementRef> = Vec::new();
                for (_, target) in links {
                    let Ok(target) = RequirementRef::parse(target) else { continue };
                    match new_by_ref.get(&target) {
                        Some(r) if new_leaf(r) => to.push(target),
                        Some(_) => to.extend(leaves_under(new, &target)),
                        None => {}
                    }
                }
                to.dedup();
                let relation = match (to.is_empty(), links.first().map(|(rel, _)| rel.as_str())) {
                    (true, _) => Relation::Removed,
                    (false, Some("moved-to")) => Relation::MovedTo,
                    (false, _) => Relation::IncorporatedInto,
                };
                let explanation = match relation {
                    Relation::MovedTo => format!("withdrawn: moved to {}", joined(&to)),
                    Relation::IncorporatedInto => format!("withdrawn: incorporated into {}", joined(&to)),
                    _ if links.is_empty() => format!("not in {}, and the catalog names no successor", new.info.id),
                    _ => format!("withdrawn; its successors are not in {}", new.info.id),
                };
                result.removed.push(difference(old_requirement, explanation));
                Crossing { from: reference.clone(), relation, to }
            }
        };
        if old_leaf(old_requirement) {
            result.crosswalk.push(crossing);
        }
    }
    result
}

fn joined(refs: &[RequirementRef]) -> String {
    refs.iter().map(RequirementRef::as_str).collect::<Vec<_>>().join(", ")
}

/// The assessed requirements under `reference` in `data`.
fn leaves_under(data: &FrameworkData, reference: &RequirementRef) -> Vec<RequirementRef> {
    let leaf = is_leaf(data);
    let mut found = Vec::new();
    let mut stack = vec![reference];
    while let Some(parent) = stack.pop() {
        for child in data.requirements.iter().filter(|r| r.parent.as_ref() == Some(parent)) {
            if leaf(child) {
                found.push(child.reference.clone());
            } else {
                stack.push(&child.reference);
            }
        }
    }
    found
}
