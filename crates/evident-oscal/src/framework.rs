//! A catalog as an evident framework: groups become the requirement tree, controls and their
//! enhancements its assessed requirements, each with its label (`AC-2(1)`), its statement as the
//! description (parameters shown as `[Assignment: …]` or `[Selection: …]`), its guidance as the
//! note, and its parameters and parts kept as data in its attributes.
//!
//! An enhancement (a child control whose class says so, as SP 800-53's `SP800-53-enhancement`) is
//! placed beside its control, under the same group, and names the control in its `enhancement_of`
//! attribute: evident assesses the leaves of a tree, and SP 800-53 assesses a control and each of
//! its enhancements alike, so neither may be the other's parent. Other child controls (CSF 2.0's
//! subcategories under their category) stay under their parent, which then groups them. A
//! requirement's kind is the catalog's own class where it is one evident can hold (`family`,
//! `category`, `subcategory`), else `group`, `control` or `enhancement`. Withdrawn
//! controls (`status: withdrawn`) are left out: nothing can be implemented against them.
//!
//! The text is the catalog's own, kept as the data of the organisation's imported framework.

use std::collections::{BTreeMap, HashMap};

use evident_core::framework::{AttrValue, FrameworkData, FrameworkInfo};
use evident_core::{FrameworkId, Requirement, RequirementKind, RequirementRef};
use serde::Serialize;

use crate::error::Violation;
use crate::model::{Catalog, Control, Group, Parameter, Part};
use crate::validate::inserted_params;

/// A catalog turned into framework data, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Converted {
    pub data: FrameworkData,
    /// Withdrawn controls and enhancements left out.
    pub withdrawn: usize,
    /// Groups left out because every control in them was withdrawn.
    pub empty_groups: usize,
    /// Where each withdrawn control went, as the catalog says (`links` with `rel` `moved-to` or
    /// `incorporated-into`): its id, then each (relation, control id). What a revision's crosswalk
    /// follows.
    pub successors: BTreeMap<String, Vec<(String, String)>>,
}

/// The id a catalog is imported under when the user names none: `oscal/<its title>:<its version>`.
pub fn default_id(catalog: &Catalog) -> Result<FrameworkId, String> {
    let mut name = String::new();
    for c in catalog.metadata.title.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    name.truncate(32);
    let mut name = name.trim_end_matches('-').to_owned();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "c-");
        name.truncate(32);
        name = name.trim_end_matches('-').to_owned();
    }
    let version: String = catalog
        .metadata
        .version
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .take(16)
        .collect();
    let version = if version.is_empty() { "1".to_owned() } else { version };
    FrameworkId::parse(&format!("oscal/{name}:{version}")).map_err(|e| {
        format!("no framework id can be made from the catalog's title and version ({e}); name one with --id")
    })
}

/// Turns a validated catalog into framework data under `id`. Every requirement whose id evident
/// cannot use (an OSCAL id may hold `_` or run past 32 characters) is named, with its JSON path.
pub fn to_framework(catalog: &Catalog, id: FrameworkId) -> Result<Converted, Vec<Violation>> {
    let mut params = HashMap::new();
    collect_params(catalog, &mut params);
    let mut builder = Builder {
        params,
        requirements: Vec::new(),
        violations: Vec::new(),
        withdrawn: 0,
        empty: 0,
        successors: BTreeMap::new(),
    };
    builder.controls("/catalog", catalog.controls.as_deref().unwrap_or_default(), None);
    builder.groups("/catalog", catalog.groups.as_deref().unwrap_or_default(), None);
    if builder.requirements.is_empty() {
        builder.violations.push(Violation {
            path: "/catalog".into(),
            rule: "empty",
            message: "the catalog holds no control that is not withdrawn".into(),
        });
    }
    if !builder.violations.is_empty() {
        return Err(builder.violations);
    }
    let publisher = catalog
        .metadata
        .parties
        .iter()
        .flatten()
        .find_map(|p| p.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "OSCAL catalog".to_owned());
    let info = FrameworkInfo {
        id: id.clone(),
        name: catalog.metadata.title.clone(),
        version: catalog.metadata.version.clone(),
        title: catalog.metadata.title.clone(),
        publisher,
        description: format!(
            "Imported from the OSCAL catalog {} (OSCAL {}), last modified {}.",
            catalog.uuid, catalog.metadata.oscal_version, catalog.metadata.last_modified
        ),
        categories: Vec::new(),
        soa: None,
        guidance: None,
    };
    Ok(Converted {
        data: FrameworkData { info, requirements: builder.requirements },
        withdrawn: builder.withdrawn,
        empty_groups: builder.empty,
        successors: builder.successors,
    })
}

fn collect_params(catalog: &Catalog, into: &mut HashMap<String, Parameter>) {
    fn controls(list: &[Control], into: &mut HashMap<String, Parameter>) {
        for control in list {
            into.extend(control.params.iter().flatten().map(|p| (p.id.clone(), p.clone())));
            controls(control.controls.as_deref().unwrap_or_default(), into);
        }
    }
    fn groups(list: &[Group], into: &mut HashMap<String, Parameter>) {
        for group in list {
            into.extend(group.params.iter().flatten().map(|p| (p.id.clone(), p.clone())));
            controls(group.controls.as_deref().unwrap_or_default(), into);
            groups(group.groups.as_deref().unwrap_or_default(), into);
        }
    }
    into.extend(catalog.params.iter().flatten().map(|p| (p.id.clone(), p.clone())));
    controls(catalog.controls.as_deref().unwrap_or_default(), into);
    groups(catalog.groups.as_deref().unwrap_or_default(), into);
}

struct Builder {
    params: HashMap<String, Parameter>,
    requirements: Vec<Requirement>,
    violations: Vec<Violation>,
    withdrawn: usize,
    empty: usize,
    successors: BTreeMap<String, Vec<(String, String)>>,
}

impl Builder {
    fn reference(&mut self, path: &str, id: &str) -> Option<RequirementRef> {
        RequirementRef::parse(id)
            .map_err(|e| {
                self.violations.push(Violation {
                    path: format!("{path}/id"),
                    rule: "unusable_id",
                    message: e.to_string(),
                })
            })
            .ok()
    }

    fn groups(&mut self, at: &str, groups: &[Group], parent: Option<&RequirementRef>) {
        for (i, group) in groups.iter().enumerate() {
            let path = format!("{at}/groups/{i}");
            let id = group.id.clone().unwrap_or_else(|| format!("group-{}", path.replace("/groups/", "-")));
            let Some(reference) = self.reference(&path, &id) else { continue };
            let at_start = self.requirements.len();
            let mut attributes = BTreeMap::new();
            if let Some(class) = &group.class {
                attributes.insert("oscal_class".into(), AttrValue::Text(class.clone()));
            }
            let description = group.parts.as_deref().map(|p| self.render_parts(p, 0)).unwrap_or_default();
            self.requirements.push(Requirement {
                reference: reference.clone(),
                label: group.prop("label").map(str::to_owned),
                parent: parent.cloned(),
                kind: kind_of(group.class.as_deref(), "group"),
                title: group.title.clone(),
                description: if description.trim().is_empty() { group.title.clone() } else { description },
                category: None,
                note: None,
                attributes,
                informative: false,
            });
            self.controls(&path, group.controls.as_deref().unwrap_or_default(), Some(&reference));
            self.groups(&path, group.groups.as_deref().unwrap_or_default(), Some(&reference));
            if self.requirements.len() == at_start + 1 {
                // Every control in it was withdrawn: an empty group would be assessed as a leaf.
                self.requirements.pop();
                self.empty += 1;
            }
        }
    }

    /// Controls of a group (or the catalog).
    fn controls(&mut self, at: &str, controls: &[Control], parent: Option<&RequirementRef>) {
        for (i, control) in controls.iter().enumerate() {
            self.control(&format!("{at}/controls/{i}"), control, parent, None);
        }
    }

    /// Where a withdrawn control (and each of its children) went.
    fn successors_of(&mut self, control: &Control) {
        let to: Vec<(String, String)> = control
            .links
            .iter()
            .flatten()
            .filter_map(|l| {
                let rel = l.rel.as_deref()?;
                let target = l.href.strip_prefix('#')?;
                matches!(rel, "moved-to" | "incorporated-into").then(|| (rel.to_owned(), target.to_owned()))
            })
            .collect();
        if !to.is_empty() {
            self.successors.insert(control.id.clone(), to);
        }
        for child in control.controls.iter().flatten() {
            self.successors_of(child);
        }
    }

    /// A control, then its child controls: an enhancement (its class says so, as SP 800-53's
    /// `SP800-53-enhancement`) beside it, any other child (CSF 2.0's subcategories) under it.
    fn control(&mut self, path: &str, control: &Control, parent: Option<&RequirementRef>, base: Option<&str>) {
        if control.is_withdrawn() {
            self.withdrawn += 1 + count(control.controls.as_deref().unwrap_or_default());
            self.successors_of(control);
            return;
        }
        let Some(reference) = self.reference(path, &control.id) else { return };
        let mut attributes = BTreeMap::new();
        if let Some(class) = &control.class {
            attributes.insert("oscal_class".into(), AttrValue::Text(class.clone()));
        }
        if let Some(sort) = control.prop("sort-id") {
            attributes.insert("sort_id".into(), AttrValue::Text(sort.to_owned()));
        }
        if let Some(base) = base {
            attributes.insert("enhancement_of".into(), AttrValue::Text(base.to_owned()));
        }
        if let Some(params) = &control.params {
            let params = params.iter().map(|p| serde_json::to_string(p).unwrap_or_default()).collect();
            attributes.insert("oscal_params".into(), AttrValue::List(params));
        }
        if let Some(parts) = &control.parts {
            attributes.insert("oscal_parts".into(), AttrValue::Text(serde_json::to_string(parts).unwrap_or_default()));
        }
        let parts = control.parts.as_deref().unwrap_or_default();
        let statement: Vec<&Part> = parts.iter().filter(|p| p.name == "statement").collect();
        let description = statement.iter().map(|p| self.render(p, 0)).collect::<Vec<_>>().join("\n");
        let guidance = parts.iter().filter(|p| p.name == "guidance").map(|p| self.render(p, 0)).collect::<Vec<_>>();
        let fallback = if base.is_some() { "enhancement" } else { "control" };
        self.requirements.push(Requirement {
            reference: reference.clone(),
            label: control.prop("label").map(str::to_owned),
            parent: parent.cloned(),
            kind: kind_of(control.class.as_deref(), fallback),
            title: control.title.clone(),
            description: if description.trim().is_empty() { control.title.clone() } else { description },
            category: None,
            note: Some(guidance.join("\n")).filter(|g| !g.trim().is_empty()),
            attributes,
            informative: false,
        });
        for (i, child) in control.controls.iter().flatten().enumerate() {
            let path = format!("{path}/controls/{i}");
            if is_enhancement(child) {
                self.control(&path, child, parent, Some(&control.id));
            } else {
                self.control(&path, child, Some(&reference), None);
            }
        }
    }

    fn render_parts(&self, parts: &[Part], depth: usize) -> String {
        parts.iter().map(|p| self.render(p, depth)).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n")
    }

    /// A part as text: its label and prose, then its parts, indented.
    fn render(&self, part: &Part, depth: usize) -> String {
        let mut line = String::new();
        if let Some(label) = part.prop("label") {
            line.push_str(label);
            line.push(' ');
        }
        if let Some(prose) = &part.prose {
            line.push_str(&self.insert(prose, 0));
        }
        let line = format!("{}{}", "  ".repeat(depth.saturating_sub(1)), line.trim_end());
        let children = self.render_parts(part.parts.as_deref().unwrap_or_default(), depth + 1);
        match (line.trim().is_empty(), children.is_empty()) {
            (true, _) => children,
            (false, true) => line,
            (false, false) => format!("{line}\n{children}"),
        }
    }

    /// Prose with each inserted parameter shown: its values when set, else what it asks for.
    fn insert(&self, prose: &str, depth: usize) -> String {
        let mut out = prose.to_owned();
        for id in inserted_params(prose).map(str::to_owned).collect::<Vec<_>>() {
            let shown = match self.params.get(&id) {
                Some(p) if depth < 3 => self.show(p, depth),
                _ => format!("[{id}]"),
            };
            for pattern in [format!("{{{{ insert: param, {id} }}}}"), format!("{{{{insert: param, {id}}}}}")] {
                out = out.replace(&pattern, &shown);
            }
        }
        out
    }

    fn show(&self, param: &Parameter, depth: usize) -> String {
        if let Some(values) = param.values.as_ref().filter(|v| !v.is_empty()) {
            return values.join(", ");
        }
        if let Some(select) = &param.select {
            let choices: Vec<String> = select.choice.iter().flatten().map(|c| self.insert(c, depth + 1)).collect();
            let how = match select.how_many.as_deref() {
                Some("one-or-more") => "Selection (one or more)",
                _ => "Selection",
            };
            return format!("[{how}: {}]", choices.join("; "));
        }
        format!("[Assignment: {}]", param.label.as_deref().unwrap_or(&param.id))
    }
}

fn count(controls: &[Control]) -> usize {
    controls.iter().map(|c| 1 + count(c.controls.as_deref().unwrap_or_default())).sum()
}

/// The catalog's own class when it is a kind evident can hold (`family`, `subcategory`), else
/// `fallback`.
fn kind_of(class: Option<&str>, fallback: &str) -> RequirementKind {
    class
        .and_then(|c| RequirementKind::parse(c).ok())
        .or_else(|| RequirementKind::parse(fallback).ok())
        .unwrap_or_else(|| unreachable!("{fallback} is a requirement kind"))
}

fn is_enhancement(control: &Control) -> bool {
    control.class.as_deref().is_some_and(|c| c.to_ascii_lowercase().contains("enhancement"))
}
