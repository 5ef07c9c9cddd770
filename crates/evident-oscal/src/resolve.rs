//! Profile resolution, after NIST's OSCAL profile-resolution specification: a profile's imports
//! select controls from catalogs (or from other profiles, resolved first), the merge directive
//! structures them (`as-is` keeps the source's groups, `flat` or no directive lists them), and
//! `modify` sets parameters and alters controls. The result is a catalog.
//!
//! An import names a file relative to the profile, or a back-matter resource (`#uuid`) whose
//! `rlinks` do. Only files inside the first profile's directory are read, never the network; a
//! name ending in `.xml` (NIST's profiles point at their XML catalogs) is read as the `.json`
//! beside it. A chain of imports that comes back to a file it has left is refused, naming the chain.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::OscalError;
use crate::model::{
    Add, Alter, BackMatter, Catalog, CatalogDocument, Control, Group, Import, Link, Parameter, Part, Profile, Property,
    Remove, Resource, SelectControls, SetParameter,
};
use crate::read::{Limits, read_file};
use crate::validate::{Document, validate};

/// The longest chain of profiles importing profiles followed (NIST's baselines are one deep).
pub const MAX_CHAIN: usize = 32;

/// A resolved profile: the catalog it makes, and what resolution noticed but did not refuse
/// (a selected id no catalog holds, a parameter or control that `modify` names and no import kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub catalog: CatalogDocument,
    pub warnings: Vec<String>,
}

/// Resolves the profile at `path` (a catalog resolves to itself).
pub fn resolve_file(path: &Path, limits: &Limits) -> Result<Resolved, OscalError> {
    let display = path.display().to_string();
    let unreadable = |e: std::io::Error| OscalError::Unreadable { file: display.clone(), message: e.to_string() };
    let canonical = path.canonicalize().map_err(unreadable)?;
    let root = canonical.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut resolver = Resolver { limits: *limits, root, stack: Vec::new(), warnings: Vec::new() };
    let catalog = resolver.load(&canonical, &display)?;
    Ok(Resolved { catalog, warnings: resolver.warnings })
}

struct Resolver {
    limits: Limits,
    /// The directory no import may leave.
    root: PathBuf,
    /// The files being resolved, outermost first: a file met again is a circular import.
    stack: Vec<PathBuf>,
    warnings: Vec<String>,
}

impl Resolver {
    fn load(&mut self, path: &Path, display: &str) -> Result<CatalogDocument, OscalError> {
        if let Some(at) = self.stack.iter().position(|p| p == path) {
            let chain: Vec<String> =
                self.stack[at..].iter().chain([&path.to_path_buf()]).map(|p| self.name(p)).collect();
            return Err(OscalError::Unresolvable {
                file: self.name(&self.stack[0]),
                message: format!("circular import: {}", chain.join(" → ")),
            });
        }
        if self.stack.len() >= MAX_CHAIN {
            return Err(OscalError::Unresolvable {
                file: self.name(&self.stack[0]),
                message: format!("profiles import profiles more than {MAX_CHAIN} deep: at {}", self.name(path)),
            });
        }
        let bytes = read_file(path, &self.limits)?;
        match validate(display, &bytes, &self.limits)? {
            Document::Catalog(catalog) => Ok(*catalog),
            Document::Profile(profile) => {
                self.stack.push(path.to_path_buf());
                let resolved = self.profile(&profile.profile, path);
                self.stack.pop();
                resolved
            }
            other => Err(OscalError::Unresolvable {
                file: self.name(path),
                message: format!("a profile imports a catalog or a profile; this is a {}", other.model().as_str()),
            }),
        }
    }

    /// A file as the user named it: relative to the root when inside it.
    fn name(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }

    fn profile(&mut self, profile: &Profile, path: &Path) -> Result<CatalogDocument, OscalError> {
        let file = self.name(path);
        let merge = profile.merge.as_ref();
        if merge.is_some_and(|m| m.custom.is_some()) {
            return Err(OscalError::NotSupported {
                file,
                message: "merge/custom is not supported yet: use as-is or flat".into(),
            });
        }
        let as_is = merge.is_some_and(|m| m.as_is == Some(true));
        // A control two imports select: `use-first` keeps the first, `keep` both. OSCAL 1.0 named
        // the rule (`combine/@method`) and, when a profile names none, keeps both, as NIST's test
        // suite expects; 1.2 has no method, and the first wins.
        let method = merge.and_then(|m| m.combine.as_ref()).and_then(|c| c.method.as_deref());
        let keep_duplicates = match method {
            Some(method) => method == "keep",
            None => profile.metadata.oscal_version.starts_with("1.0"),
        };
        let mut out = Output {
            as_is,
            keep_duplicates,
            seen: HashSet::new(),
            groups: Vec::new(),
            controls: Vec::new(),
            dropped: Vec::new(),
            wrapped: Vec::new(),
        };
        let mut params = Vec::new();
        let mut resources = Vec::new();
        for (i, import) in profile.imports.iter().enumerate() {
            let source = self.source(import, profile.back_matter.as_ref(), path, &file, i)?;
            let shown = self.name(&source);
            let mut catalog = self.load(&source, &shown)?.catalog;
            let index = Index::of(&catalog);
            let selection = self.select(import, &index, &shown);
            params.extend(catalog.params.take().into_iter().flatten());
            resources.extend(catalog.back_matter.take().into_iter().flat_map(|b| b.resources.into_iter().flatten()));
            out.add(catalog, &selection, &index);
        }
        for (id, parent) in &out.dropped {
            self.warnings.push(format!(
                "{file}: {id} is selected without its parent control {parent}: as-is keeps the catalog's structure, \
                 where it has no place, so it is left out"
            ));
        }
        for (id, parent) in &out.wrapped {
            self.warnings.push(format!(
                "{file}: {id} is selected without its parent control {parent}: the flat catalog keeps {parent} \
                 around it, as NIST's test suite expects"
            ));
        }
        resources.extend(profile.back_matter.iter().flat_map(|b| b.resources.iter().flatten()).cloned());
        let mut catalog = Catalog {
            uuid: derived_uuid(&profile.uuid),
            metadata: profile.metadata.clone(),
            params: Some(params).filter(|p| !p.is_empty()),
            controls: Some(out.controls).filter(|c| !c.is_empty()),
            groups: Some(out.groups).filter(|g| !g.is_empty()),
            back_matter: None,
        };
        let mut links = catalog.metadata.links.take().unwrap_or_default();
        links.push(Link {
            href: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            rel: Some("source-profile".into()),
            media_type: Some("application/oscal.profile+json".into()),
            resource_fragment: None,
            text: None,
        });
        catalog.metadata.links = Some(links);
        if let Some(modify) = &profile.modify {
            for set in modify.set_parameters.iter().flatten() {
                if !set_parameter(&mut catalog, set) {
                    self.warnings.push(format!("{file}: set-parameter {}: no resolved control has it", set.param_id));
                }
            }
            for alter in modify.alters.iter().flatten() {
                if !alter_control(&mut catalog, alter) {
                    self.warnings.push(format!("{file}: alter {}: no resolved control has that id", alter.control_id));
                }
            }
        }
        catalog.back_matter = referenced(&catalog, resources);
        Ok(CatalogDocument { schema: None, catalog })
    }

    /// The file an import names, checked to be inside the root.
    fn source(
        &self,
        import: &Import,
        back_matter: Option<&BackMatter>,
        profile: &Path,
        file: &str,
        index: usize,
    ) -> Result<PathBuf, OscalError> {
        let fail = |message: String| OscalError::Unresolvable { file: file.to_owned(), message };
        let href = match import.href.strip_prefix('#') {
            Some(uuid) => {
                let resource = back_matter
                    .and_then(|b| b.resources.as_deref())
                    .unwrap_or_default()
                    .iter()
                    .find(|r| r.uuid == uuid)
                    .ok_or_else(|| {
                        fail(format!(
                            "import {index} names the resource #{uuid}, which the profile's back-matter does not hold"
                        ))
                    })?;
                let rlinks = resource.rlinks.as_deref().unwrap_or_default();
                let local = rlinks.iter().find(|r| !is_remote(&r.href)).or_else(|| rlinks.first());
                local
                    .map(|r| r.href.clone())
                    .ok_or_else(|| fail(format!("import {index}: the resource #{uuid} has no rlink to a file")))?
            }
            None => import.href.clone(),
        };
        if is_remote(&href) {
            return Err(fail(format!(
                "import {index} names {href}: only files beside the profile are read, never the network"
            )));
        }
        let relative = Path::new(&href);
        if relative.is_absolute() {
            return Err(fail(format!(
                "import {index} names {href}: an absolute path; name it relative to the profile"
            )));
        }
        let base = profile.parent().unwrap_or(Path::new(""));
        let joined = normalise(&base.join(relative));
        if !joined.starts_with(&self.root) {
            return Err(fail(format!(
                "import {index} names {href}, outside {}: only files in the profile's directory are read",
                self.root.display()
            )));
        }
        let candidate = if joined.extension().is_some_and(|e| e == "xml") {
            let json = joined.with_extension("json");
            if json.is_file() || !joined.is_file() {
                json
            } else {
                return Err(fail(format!(
                    "import {index} names {href}, an XML file: evident reads OSCAL JSON; put the JSON version beside it"
                )));
            }
        } else {
            joined
        };
        let canonical = candidate.canonicalize().map_err(|e| {
            fail(format!("import {index} names {href}, and {} cannot be read: {e}", self.name(&candidate)))
        })?;
        // A symbolic link inside the directory may still point out of it.
        if !canonical.starts_with(&self.root) {
            return Err(fail(format!("import {index} names {href}, which leads outside {}", self.root.display())));
        }
        Ok(canonical)
    }

    /// The ids an import selects: included, then excluded.
    fn select(&mut self, import: &Import, index: &Index, file: &str) -> HashSet<String> {
        let mut selected = HashSet::new();
        if import.include_all.is_some() {
            selected.extend(index.order.iter().cloned());
        }
        for selector in import.include_controls.iter().flatten() {
            selected.extend(self.matches(selector, index, file));
        }
        for selector in import.exclude_controls.iter().flatten() {
            for id in self.matches(selector, index, file) {
                selected.remove(&id);
            }
        }
        selected
    }

    fn matches(&mut self, selector: &SelectControls, index: &Index, file: &str) -> Vec<String> {
        let mut found = Vec::new();
        for id in selector.with_ids.iter().flatten() {
            if index.children.contains_key(id) {
                found.push(id.clone());
            } else {
                self.warnings.push(format!("{file}: the profile selects {id}, which the catalog does not hold"));
            }
        }
        for matching in selector.matching.iter().flatten() {
            found.extend(index.order.iter().filter(|id| glob(&matching.pattern, id)).cloned());
        }
        if selector.with_child_controls.as_deref() == Some("yes") {
            let mut stack = found.clone();
            while let Some(id) = stack.pop() {
                for child in index.children.get(&id).into_iter().flatten() {
                    found.push(child.clone());
                    stack.push(child.clone());
                }
            }
        }
        found
    }
}

/// Every control of a catalog in document order, and each one's child controls.
struct Index {
    order: Vec<String>,
    children: HashMap<String, Vec<String>>,
    /// Where each control comes in `order`.
    positions: HashMap<String, usize>,
}

impl Index {
    fn position(&self, id: &str) -> Option<usize> {
        self.positions.get(id).copied()
    }
}

impl Index {
    fn of(catalog: &Catalog) -> Self {
        fn controls(index: &mut Index, list: &[Control]) {
            for control in list {
                index.positions.insert(control.id.clone(), index.order.len());
                index.order.push(control.id.clone());
                let children = control.controls.iter().flatten().map(|c| c.id.clone()).collect();
                index.children.insert(control.id.clone(), children);
                controls(index, control.controls.as_deref().unwrap_or_default());
            }
        }
        fn groups(index: &mut Index, list: &[Group]) {
            for group in list {
                controls(index, group.controls.as_deref().unwrap_or_default());
                groups(index, group.groups.as_deref().unwrap_or_default());
            }
        }
        let mut index = Index { order: Vec::new(), children: HashMap::new(), positions: HashMap::new() };
        controls(&mut index, catalog.controls.as_deref().unwrap_or_default());
        groups(&mut index, catalog.groups.as_deref().unwrap_or_default());
        index
    }
}

/// The selected controls of every import, merged.
struct Output {
    as_is: bool,
    keep_duplicates: bool,
    /// Ids already placed: with `use-first` (the default here), a later import's copy is dropped.
    seen: HashSet<String>,
    groups: Vec<Group>,
    controls: Vec<Control>,
    /// Selected controls left out (as-is) because their parent control was not selected.
    dropped: Vec<(String, String)>,
    /// Selected controls kept (flat) inside a parent control that was not selected.
    wrapped: Vec<(String, String)>,
}

impl Output {
    /// Takes the selected controls of a catalog, moved rather than copied.
    fn add(&mut self, catalog: Catalog, selected: &HashSet<String>, index: &Index) {
        if self.as_is {
            let controls = self.keep(catalog.controls.unwrap_or_default(), selected);
            self.controls.extend(controls);
            let groups = self.keep_groups(catalog.groups.unwrap_or_default(), selected);
            merge_groups(&mut self.groups, groups, index);
        } else {
            // Flat: no groups, but a control keeps its selected child controls, as NIST's
            // expected results show.
            fn groups(out: &mut Output, list: Vec<Group>, selected: &HashSet<String>) {
                for group in list {
                    let kept = out.keep(group.controls.unwrap_or_default(), selected);
                    out.controls.extend(kept);
                    groups(out, group.groups.unwrap_or_default(), selected);
                }
            }
            let kept = self.keep(catalog.controls.unwrap_or_default(), selected);
            self.controls.extend(kept);
            groups(self, catalog.groups.unwrap_or_default(), selected);
        }
    }

    fn first(&mut self, id: &str) -> bool {
        self.seen.insert(id.to_owned()) || self.keep_duplicates
    }

    /// The selected controls of a list, each with its selected children. A selected control
    /// whose parent control is not selected has no place in the source's structure: as-is, it is
    /// left out, and named (NIST's resolver does the same: its resolved PRIVACY baseline has no
    /// AC-3(14), which the profile selects without AC-3); flat, its parent comes with it, around
    /// it, as NIST's test suite expects.
    fn keep(&mut self, controls: Vec<Control>, selected: &HashSet<String>) -> Vec<Control> {
        let mut kept = Vec::new();
        for mut control in controls {
            let children = control.controls.take().unwrap_or_default();
            let chosen = selected.contains(&control.id);
            if chosen && self.first(&control.id) {
                control.controls = Some(self.keep(children, selected)).filter(|c| !c.is_empty());
                kept.push(control);
            } else if !chosen && !self.as_is {
                let inside = self.keep(children, selected);
                if !inside.is_empty() {
                    self.wrapped.extend(inside.iter().map(|c| (c.id.clone(), control.id.clone())));
                    control.controls = Some(inside);
                    kept.push(control);
                }
            } else {
                self.orphans(&children, selected, &control.id);
            }
        }
        kept
    }

    fn orphans(&mut self, controls: &[Control], selected: &HashSet<String>, parent: &str) {
        for control in controls {
            if selected.contains(&control.id) {
                self.dropped.push((control.id.clone(), parent.to_owned()));
            }
            self.orphans(control.controls.as_deref().unwrap_or_default(), selected, parent);
        }
    }

    fn keep_groups(&mut self, groups: Vec<Group>, selected: &HashSet<String>) -> Vec<Group> {
        let mut kept = Vec::new();
        for mut group in groups {
            let controls = self.keep(group.controls.take().unwrap_or_default(), selected);
            let subgroups = self.keep_groups(group.groups.take().unwrap_or_default(), selected);
            if !controls.is_empty() || !subgroups.is_empty() {
                group.controls = Some(controls).filter(|c| !c.is_empty());
                group.groups = Some(subgroups).filter(|g| !g.is_empty());
                kept.push(group);
            }
        }
        kept
    }
}

/// Groups of a later import join the same group already there: the same id, or, for groups
/// without one, the same title. Their controls take their place in the later catalog's order
/// (NIST's test suite merges two imports of one catalog back into its order).
fn merge_groups(into: &mut Vec<Group>, groups: Vec<Group>, index: &Index) {
    for group in groups {
        let same = into.iter_mut().find(|g| match (&g.id, &group.id) {
            (Some(a), Some(b)) => a == b,
            (None, None) => g.title == group.title,
            _ => false,
        });
        match same {
            Some(existing) => {
                let controls = existing.controls.get_or_insert_default();
                for control in group.controls.unwrap_or_default() {
                    let at = index.position(&control.id).and_then(|mine| {
                        controls.iter().position(|c| index.position(&c.id).is_some_and(|theirs| theirs > mine))
                    });
                    controls.insert(at.unwrap_or(controls.len()), control);
                }
                if controls.is_empty() {
                    existing.controls = None;
                }
                let mut subgroups = existing.groups.take().unwrap_or_default();
                merge_groups(&mut subgroups, group.groups.unwrap_or_default(), index);
                existing.groups = Some(subgroups).filter(|g| !g.is_empty());
            }
            None => into.push(group),
        }
    }
}

/// Every control of a catalog, mutably, for `modify`.
fn each_control(catalog: &mut Catalog, f: &mut dyn FnMut(&mut Control) -> bool) -> bool {
    fn controls(list: &mut [Control], f: &mut dyn FnMut(&mut Control) -> bool) -> bool {
        let mut hit = false;
        for control in list {
            hit |= f(control);
            hit |= controls(control.controls.as_deref_mut().unwrap_or_default(), f);
        }
        hit
    }
    fn groups(list: &mut [Group], f: &mut dyn FnMut(&mut Control) -> bool) -> bool {
        let mut hit = false;
        for group in list {
            hit |= controls(group.controls.as_deref_mut().unwrap_or_default(), f);
            hit |= groups(group.groups.as_deref_mut().unwrap_or_default(), f);
        }
        hit
    }
    let a = controls(catalog.controls.as_deref_mut().unwrap_or_default(), f);
    let b = groups(catalog.groups.as_deref_mut().unwrap_or_default(), f);
    a || b
}

/// Applies a `set-parameter` to the parameter of that id; false when no parameter has it.
fn set_parameter(catalog: &mut Catalog, set: &SetParameter) -> bool {
    let apply = |param: &mut Parameter| {
        if param.id != set.param_id {
            return false;
        }
        if set.class.is_some() {
            param.class.clone_from(&set.class);
        }
        if set.depends_on.is_some() {
            param.depends_on.clone_from(&set.depends_on);
        }
        if set.label.is_some() {
            param.label.clone_from(&set.label);
        }
        if set.usage.is_some() {
            param.usage.clone_from(&set.usage);
        }
        if set.constraints.is_some() {
            param.constraints.clone_from(&set.constraints);
        }
        if set.guidelines.is_some() {
            param.guidelines.clone_from(&set.guidelines);
        }
        if set.values.is_some() {
            param.values.clone_from(&set.values);
        }
        if set.select.is_some() {
            param.select.clone_from(&set.select);
        }
        param.props.get_or_insert_default().extend(set.props.iter().flatten().cloned());
        param.links.get_or_insert_default().extend(set.links.iter().flatten().cloned());
        if param.props.as_ref().is_some_and(Vec::is_empty) {
            param.props = None;
        }
        if param.links.as_ref().is_some_and(Vec::is_empty) {
            param.links = None;
        }
        true
    };
    let mut hit = false;
    for param in catalog.params.iter_mut().flatten() {
        hit |= apply(param);
    }
    hit | each_control(catalog, &mut |control| control.params.iter_mut().flatten().fold(false, |h, p| apply(p) | h))
}

/// Applies an `alter` to the control of that id; false when no control has it.
fn alter_control(catalog: &mut Catalog, alter: &Alter) -> bool {
    each_control(catalog, &mut |control| {
        if control.id != alter.control_id {
            return false;
        }
        for remove in alter.removes.iter().flatten() {
            remove_from_control(control, remove);
        }
        for add in alter.adds.iter().flatten() {
            add_to_control(control, add);
        }
        true
    })
}

fn remove_from_control(control: &mut Control, remove: &Remove) {
    let item = remove.by_item_name.as_deref();
    if item.is_none_or(|i| i == "param") {
        retain(&mut control.params, |p| !removes(remove, None, p.class.as_deref(), Some(&p.id), None));
    }
    if item.is_none_or(|i| i == "prop") {
        retain(&mut control.props, |p| !removes_prop(remove, p));
    }
    if item.is_none_or(|i| i == "link") {
        retain(&mut control.links, |l| !removes(remove, l.rel.as_deref(), None, None, None));
    }
    remove_from_parts(&mut control.parts, remove);
}

fn remove_from_parts(parts: &mut Option<Vec<Part>>, remove: &Remove) {
    let item = remove.by_item_name.as_deref();
    if item.is_none_or(|i| i == "part") {
        retain(parts, |p| {
            !removes(
                remove,
                Some(&p.name),
                p.class.as_deref(),
                p.id.as_deref(),
                Some(p.ns.as_deref().unwrap_or(NIST_NS)),
            )
        });
    }
    for part in parts.iter_mut().flatten() {
        if item.is_none_or(|i| i == "prop") {
            retain(&mut part.props, |p| !removes_prop(remove, p));
        }
        if item.is_none_or(|i| i == "link") {
            retain(&mut part.links, |l| !removes(remove, l.rel.as_deref(), None, None, None));
        }
        remove_from_parts(&mut part.parts, remove);
    }
}

/// The namespace of a property or part that names none.
const NIST_NS: &str = "http://csrc.nist.gov/ns/oscal";

fn removes_prop(remove: &Remove, prop: &Property) -> bool {
    let ns = prop.ns.as_deref().unwrap_or(NIST_NS);
    removes(remove, Some(&prop.name), prop.class.as_deref(), prop.uuid.as_deref(), Some(ns))
}

/// Whether an item matches every criterion a `remove` gives. A `remove` naming only the kind of
/// item (`by-item-name`) removes every item of that kind; the caller has checked the kind.
fn removes(remove: &Remove, name: Option<&str>, class: Option<&str>, id: Option<&str>, ns: Option<&str>) -> bool {
    let criteria = [(&remove.by_name, name), (&remove.by_class, class), (&remove.by_id, id), (&remove.by_ns, ns)];
    let given = criteria.iter().filter(|(wanted, _)| wanted.is_some()).count();
    (given > 0 || remove.by_item_name.is_some())
        && criteria.iter().all(|(wanted, have)| wanted.as_deref().is_none_or(|w| Some(w) == *have))
}

fn retain<T>(list: &mut Option<Vec<T>>, keep: impl FnMut(&T) -> bool) {
    if let Some(items) = list {
        items.retain(keep);
        if items.is_empty() {
            *list = None;
        }
    }
}

fn add_to_control(control: &mut Control, add: &Add) {
    let position = add.position.as_deref().unwrap_or("ending");
    let Some(by_id) = add.by_id.as_deref().filter(|id| *id != control.id) else {
        if let Some(title) = &add.title {
            control.title.clone_from(title);
        }
        let start = position == "starting";
        insert(&mut control.params, add.params.as_ref(), start);
        insert(&mut control.props, add.props.as_ref(), start);
        insert(&mut control.links, add.links.as_ref(), start);
        insert(&mut control.parts, add.parts.as_ref(), start);
        return;
    };
    add_in_parts(&mut control.parts, by_id, position, add);
}

/// Adds to the part `by_id` (starting, ending) or beside it (before, after); true once done.
fn add_in_parts(parts: &mut Option<Vec<Part>>, by_id: &str, position: &str, add: &Add) -> bool {
    let Some(list) = parts else { return false };
    if let Some(at) = list.iter().position(|p| p.id.as_deref() == Some(by_id)) {
        match position {
            "before" | "after" => {
                let at = if position == "after" { at + 1 } else { at };
                for (i, part) in add.parts.iter().flatten().enumerate() {
                    list.insert(at + i, part.clone());
                }
            }
            _ => {
                let start = position == "starting";
                let part = &mut list[at];
                if let Some(title) = &add.title {
                    part.title = Some(title.clone());
                }
                insert(&mut part.props, add.props.as_ref(), start);
                insert(&mut part.links, add.links.as_ref(), start);
                insert(&mut part.parts, add.parts.as_ref(), start);
            }
        }
        return true;
    }
    list.iter_mut().any(|part| add_in_parts(&mut part.parts, by_id, position, add))
}

fn insert<T: Clone>(list: &mut Option<Vec<T>>, items: Option<&Vec<T>>, start: bool) {
    let Some(items) = items.filter(|i| !i.is_empty()) else { return };
    let existing = list.get_or_insert_default();
    if start {
        existing.splice(0..0, items.iter().cloned());
    } else {
        existing.extend(items.iter().cloned());
    }
}

/// The back-matter of the resolved catalog: the resources it links to by `#uuid`.
fn referenced(catalog: &Catalog, resources: Vec<Resource>) -> Option<BackMatter> {
    let mut found = HashSet::new();
    each_link(catalog, &mut |href| {
        if let Some(fragment) = href.strip_prefix('#') {
            found.insert(fragment.to_owned());
        }
    });
    let mut seen = HashSet::new();
    let kept: Vec<Resource> =
        resources.into_iter().filter(|r| found.contains(&r.uuid) && seen.insert(r.uuid.clone())).collect();
    (!kept.is_empty()).then_some(BackMatter { resources: Some(kept) })
}

/// Every link's `href` in a catalog: its metadata (the typed links and those inside the parties,
/// roles and other parts kept as JSON), groups, controls, parameters and parts.
fn each_link(catalog: &Catalog, f: &mut dyn FnMut(&str)) {
    fn json(value: &Value, f: &mut dyn FnMut(&str)) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(href)) = map.get("href") {
                    f(href);
                }
                map.values().for_each(|v| json(v, f));
            }
            Value::Array(items) => items.iter().for_each(|v| json(v, f)),
            _ => {}
        }
    }
    fn links(list: Option<&[Link]>, f: &mut dyn FnMut(&str)) {
        list.unwrap_or_default().iter().for_each(|l| f(&l.href));
    }
    fn params(list: Option<&[Parameter]>, f: &mut dyn FnMut(&str)) {
        list.unwrap_or_default().iter().for_each(|p| links(p.links.as_deref(), f));
    }
    fn parts(list: Option<&[Part]>, f: &mut dyn FnMut(&str)) {
        for part in list.unwrap_or_default() {
            links(part.links.as_deref(), f);
            parts(part.parts.as_deref(), f);
        }
    }
    fn controls(list: Option<&[Control]>, f: &mut dyn FnMut(&str)) {
        for control in list.unwrap_or_default() {
            links(control.links.as_deref(), f);
            params(control.params.as_deref(), f);
            parts(control.parts.as_deref(), f);
            controls(control.controls.as_deref(), f);
        }
    }
    fn groups(list: Option<&[Group]>, f: &mut dyn FnMut(&str)) {
        for group in list.unwrap_or_default() {
            links(group.links.as_deref(), f);
            params(group.params.as_deref(), f);
            parts(group.parts.as_deref(), f);
            groups(group.groups.as_deref(), f);
            controls(group.controls.as_deref(), f);
        }
    }
    let metadata = &catalog.metadata;
    links(metadata.links.as_deref(), f);
    let kept_as_json = [
        &metadata.revisions,
        &metadata.document_ids,
        &metadata.roles,
        &metadata.locations,
        &metadata.parties,
        &metadata.responsible_parties,
        &metadata.actions,
    ];
    kept_as_json.into_iter().flatten().flatten().for_each(|v| json(v, f));
    params(catalog.params.as_deref(), f);
    controls(catalog.controls.as_deref(), f);
    groups(catalog.groups.as_deref(), f);
}

/// A stable UUID for the resolved catalog of a profile: the same profile resolves to the same id.
fn derived_uuid(profile: &str) -> String {
    let digest = Sha256::digest(format!("evident resolved catalog of {profile}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    // Shaped as a version 5 (name-based) UUID, the versions the OSCAL schema accepts besides 4.
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn is_remote(href: &str) -> bool {
    let scheme = href.split_once(':').map(|(s, _)| s);
    scheme.is_some_and(|s| s.len() > 1 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        || href.starts_with("//")
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// OSCAL's `matching` patterns: `*` any run of characters, `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_oscal_means() {
        assert!(glob("a*", "ac-1"));
        assert!(glob("?1", "a1"));
        assert!(!glob("?1", "ab1"));
        assert!(glob("*", ""));
        assert!(!glob("a?", "a"));
    }

    #[test]
    fn remote_hrefs_are_told_from_files() {
        assert!(is_remote("https://example.com/c.json"));
        assert!(is_remote("file:///etc/passwd"));
        assert!(is_remote("//host/c.json"));
        assert!(!is_remote("catalogs/c.json"));
        assert!(!is_remote("c.json"));
    }
}
