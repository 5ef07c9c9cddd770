//! Replay: fold the audit log's after-images into the state it says each row should be in, and
//! name every row of the current state that differs.
//!
//! The knowledge of "which action sets which row, and which fields are compared" is in two tables
//! here and nowhere else: [`COMPARATORS`] (per table: the key fields and the compared fields) and
//! `RULES` (per action: the table it sets and how). When an after-image format changes or an
//! action is added, these tables change; the walk and the diff do not.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::audit::AuditRecord;

/// A state table that the audit log describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Organisations,
    Memberships,
    Adoptions,
    Controls,
    Mappings,
    SoaDecisions,
    SoaVersions,
    Methodologies,
    Assets,
    Risks,
    ImportedFrameworks,
    Evidence,
    Samples,
    SampleExceptions,
    ApiTokens,
}

impl Table {
    /// The table's name in a finding.
    pub fn name(self) -> &'static str {
        comparator(self).name
    }
}

impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a field's values are compared.
#[derive(Debug, Clone, Copy)]
enum Compare {
    /// As they are.
    Exact,
    /// Only whether it is set: a timestamp the backends keep at different precisions.
    Present,
    /// As a set: the store returns lists sorted, the log keeps them as given.
    Unordered,
    /// An object without one member: a timestamp the backends keep at different precisions.
    Without(&'static str),
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    compare: Compare,
}

const fn exact(name: &'static str) -> Field {
    Field { name, compare: Compare::Exact }
}

/// How one table's rows are named and compared. Timestamps that the log does not carry (created,
/// updated, joined) are deliberately absent: replay cannot know them.
#[derive(Debug)]
pub struct Comparator {
    pub table: Table,
    name: &'static str,
    /// The fields that together name a row, in the order a finding shows them.
    key: &'static [&'static str],
    fields: &'static [Field],
    /// A table whose rows are only ever added (a million evidence records): replay keeps a digest
    /// of each row's fields, not the fields, and a finding says the row differs, not how.
    sealed: bool,
}

/// Every table replay checks, with its key and compared fields.
pub const COMPARATORS: &[Comparator] = &[
    Comparator {
        table: Table::Organisations,
        name: "organisations",
        key: &["id"],
        fields: &[exact("slug"), exact("name")],
        sealed: false,
    },
    Comparator {
        table: Table::Memberships,
        name: "memberships",
        key: &["email"],
        fields: &[exact("role")],
        sealed: false,
    },
    Comparator {
        table: Table::Adoptions,
        name: "adoptions",
        key: &["framework"],
        fields: &[Field { name: "categories", compare: Compare::Unordered }, exact("scope"), exact("target_date")],
        sealed: false,
    },
    Comparator {
        table: Table::Controls,
        name: "controls",
        key: &["code"],
        fields: &[
            exact("title"),
            exact("description"),
            exact("owner"),
            exact("frequency"),
            exact("max_evidence_age_days"),
            exact("status"),
            Field { name: "retired_at", compare: Compare::Present },
        ],
        sealed: false,
    },
    Comparator {
        table: Table::Mappings,
        name: "mappings",
        key: &["control", "framework", "requirement"],
        fields: &[exact("coverage"), exact("rationale")],
        sealed: false,
    },
    Comparator {
        table: Table::SoaDecisions,
        name: "soa_decisions",
        key: &["framework", "requirement"],
        fields: &[exact("applicable"), Field { name: "reasons", compare: Compare::Unordered }, exact("justification")],
        sealed: false,
    },
    Comparator {
        table: Table::SoaVersions,
        name: "soa_versions",
        key: &["framework", "version"],
        fields: &[exact("digest"), exact("rows")],
        sealed: false,
    },
    Comparator {
        table: Table::ImportedFrameworks,
        name: "imported_frameworks",
        key: &["id"],
        fields: &[exact("name"), exact("version"), exact("title"), exact("requirements")],
        sealed: false,
    },
    Comparator { table: Table::Evidence, name: "evidence", key: &["id"], fields: &[exact("evidence")], sealed: true },
    Comparator { table: Table::Samples, name: "samples", key: &["id"], fields: &[exact("sample")], sealed: true },
    Comparator {
        table: Table::SampleExceptions,
        name: "sample_exceptions",
        key: &["sample", "control", "from"],
        fields: &[exact("to"), exact("note")],
        sealed: true,
    },
    Comparator {
        table: Table::ApiTokens,
        name: "api_tokens",
        key: &["id"],
        fields: &[
            exact("name"),
            exact("role"),
            exact("created_by"),
            exact("expires_at"),
            Field { name: "revoked_at", compare: Compare::Present },
        ],
        sealed: false,
    },
    Comparator {
        table: Table::Methodologies,
        name: "risk_methodologies",
        key: &["version"],
        fields: &[exact("methodology")],
        sealed: false,
    },
    Comparator {
        table: Table::Assets,
        name: "assets",
        key: &["code"],
        fields: &[
            exact("name"),
            exact("kind"),
            exact("owner"),
            exact("classification"),
            exact("confidentiality"),
            exact("integrity"),
            exact("availability"),
            exact("parent"),
        ],
        sealed: false,
    },
    Comparator {
        table: Table::Risks,
        name: "risks",
        key: &["code"],
        fields: &[
            exact("title"),
            exact("description"),
            Field { name: "assets", compare: Compare::Unordered },
            exact("threat"),
            exact("vulnerability"),
            exact("owner"),
            exact("methodology"),
            exact("inherent"),
            exact("treatment"),
            Field { name: "controls", compare: Compare::Unordered },
            exact("residual"),
            exact("residual_justification"),
            exact("review_date"),
            Field { name: "acceptance", compare: Compare::Without("at") },
            exact("closed"),
        ],
        sealed: false,
    },
];

fn comparator(table: Table) -> &'static Comparator {
    // Every Table has exactly one comparator; the test `every_table_has_one_comparator` holds it.
    COMPARATORS.iter().find(|c| c.table == table).unwrap_or(&COMPARATORS[0])
}

/// What an action does to its table's row.
#[derive(Debug, Clone, Copy)]
enum Effect {
    /// The after-image is the row's new content.
    Put,
    /// The before-image names the row, which is gone.
    Delete,
    /// The after-image is the new value of one field of a row the log wrote before.
    SetField(&'static str),
    /// The before-image names the row, the after-image is its content under a new key; the rows
    /// of [`RENAMED`] that point at the old key are moved with it (no record of their own says so).
    Rename,
}

/// Where a renamed control's code is used: as a key field, or inside a list field's items.
const RENAMED: &[(Table, Refers)] =
    &[(Table::Mappings, Refers::Key("control")), (Table::Risks, Refers::Items("controls", "control"))];

#[derive(Debug, Clone, Copy)]
enum Refers {
    Key(&'static str),
    Items(&'static str, &'static str),
}

/// Which row an action sets. `entity_key` names key fields the image lacks: they are read from
/// the record's entity id, split on spaces (the last one takes the rest).
#[derive(Debug)]
struct Rule {
    action: &'static str,
    table: Table,
    effect: Effect,
    entity_key: &'static [&'static str],
}

const fn rule(action: &'static str, table: Table, effect: Effect, entity_key: &'static [&'static str]) -> Rule {
    Rule { action, table, effect, entity_key }
}

/// Every action the log holds, and the row it sets.
const RULES: &[Rule] = &[
    rule("organisation.create", Table::Organisations, Effect::Put, &[]),
    rule("member.add", Table::Memberships, Effect::Put, &[]),
    rule("member.change", Table::Memberships, Effect::Put, &[]),
    rule("member.remove", Table::Memberships, Effect::Delete, &[]),
    rule("framework.adopt", Table::Adoptions, Effect::Put, &[]),
    rule("framework.import", Table::ImportedFrameworks, Effect::Put, &[]),
    rule("control.create", Table::Controls, Effect::Put, &[]),
    rule("control.update", Table::Controls, Effect::Put, &[]),
    rule("control.retire", Table::Controls, Effect::Put, &[]),
    rule("control.rename", Table::Controls, Effect::Rename, &[]),
    rule("mapping.set", Table::Mappings, Effect::Put, &[]),
    rule("mapping.delete", Table::Mappings, Effect::Delete, &[]),
    rule("soa.decide", Table::SoaDecisions, Effect::Put, &["framework", "requirement"]),
    rule("soa.approve", Table::SoaVersions, Effect::Put, &["framework"]),
    rule("methodology.set", Table::Methodologies, Effect::Put, &[]),
    rule("asset.put", Table::Assets, Effect::Put, &[]),
    rule("risk.put", Table::Risks, Effect::Put, &[]),
    rule("risk.create", Table::Risks, Effect::Put, &[]),
    rule("risk.accept", Table::Risks, Effect::SetField("acceptance"), &["code"]),
    rule("evidence.add", Table::Evidence, Effect::Put, &[]),
    rule("sample.record", Table::Samples, Effect::Put, &[]),
    rule("sample.exception", Table::SampleExceptions, Effect::Put, &[]),
    rule("token.create", Table::ApiTokens, Effect::Put, &[]),
    rule("token.revoke", Table::ApiTokens, Effect::Put, &[]),
];

/// Something replay found: a row that differs from what the log says, or a record it cannot replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Finding {
    /// A row's field holds another value than the log's last after-image gave it.
    Differs { table: Table, key: String, field: &'static str, actual: Value, expected: Value, seq: i64 },
    /// A row of a sealed table is not what the log's last after-image wrote (replay keeps only a
    /// digest of those rows, so it cannot say which field).
    Altered { table: Table, key: String, seq: i64 },
    /// The log says the row exists; the table has none.
    Missing { table: Table, key: String, seq: i64 },
    /// The table has a row the log never wrote, or deleted.
    Unlogged { table: Table, key: String, deleted_by: Option<i64> },
    /// A record whose action replay does not know: it cannot tell what the record changed.
    UnknownAction { seq: i64, action: String },
    /// A record whose images cannot be replayed.
    Unreadable { seq: i64, action: String, reason: String },
}

impl Finding {
    /// A stable snake_case name for the kind of finding.
    pub fn code(&self) -> &'static str {
        match self {
            Finding::Differs { .. } | Finding::Altered { .. } => "state_differs",
            Finding::Missing { .. } => "state_missing",
            Finding::Unlogged { .. } => "state_unlogged",
            Finding::UnknownAction { .. } => "unknown_action",
            Finding::Unreadable { .. } => "unreadable_record",
        }
    }
}

/// A value as a finding shows it: text bare, nothing as `none`, anything else as compact JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "none".to_owned(),
        other => other.to_string(),
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Differs { table, key, field, actual, expected, seq } => write!(
                f,
                "{table}: {key} has {field} {}, the audit log says {} (record {seq})",
                shown(actual),
                shown(expected)
            ),
            Finding::Altered { table, key, seq } => {
                write!(f, "{table}: {key} is not what the audit log wrote (record {seq})")
            }
            Finding::Missing { table, key, seq } => {
                write!(f, "{table}: {key} has no row, the audit log says it exists (record {seq})")
            }
            Finding::Unlogged { table, key, deleted_by: None } => {
                write!(f, "{table}: {key} is in the table, but the audit log never wrote it")
            }
            Finding::Unlogged { table, key, deleted_by: Some(seq) } => {
                write!(f, "{table}: {key} is in the table, but the audit log deleted it (record {seq})")
            }
            Finding::UnknownAction { seq, action } => {
                write!(f, "record #{seq}: unknown action {action:?}, so replay cannot tell what it changed")
            }
            Finding::Unreadable { seq, action, reason } => {
                write!(f, "record #{seq} ({action}) cannot be replayed: {reason}")
            }
        }
    }
}

impl Finding {
    /// Where a finding about a row sorts: by table, then key. Records replay could not read come
    /// first, in log order.
    fn place(&self) -> Option<(Table, &str)> {
        match self {
            Finding::Differs { table, key, .. }
            | Finding::Altered { table, key, .. }
            | Finding::Missing { table, key, .. }
            | Finding::Unlogged { table, key, .. } => Some((*table, key)),
            Finding::UnknownAction { .. } | Finding::Unreadable { .. } => None,
        }
    }
}

/// A row as the log last left it: its compared fields (projected), or gone.
#[derive(Debug, Clone)]
struct Expected {
    fields: Option<Vec<Value>>,
    seq: i64,
    /// The check that last met this row in the current state.
    checked: u32,
}

/// A row of a sealed table as a record left it: a digest of its projected fields, or gone.
#[derive(Debug, Clone)]
struct Sealed {
    table: Table,
    /// The key's parts, joined by [`SEP`].
    key: Box<str>,
    digest: Option<[u8; 16]>,
    seq: i64,
    checked: u32,
}

/// The parts of a sealed row's key, joined by a separator no key part holds.
const SEP: &str = "\u{1f}";

/// The state the log says the organisation is in, built one record at a time. It holds one entry
/// per row the log ever wrote (the state's size, not the log's): the compared fields of most
/// tables; for sealed tables a 16-byte digest in a flat list sorted when a check starts (about 80
/// bytes a row with its key, so a million evidence records need tens of megabytes); and the
/// records it could not replay.
#[derive(Debug, Default)]
pub struct Replay {
    rows: BTreeMap<(Table, Vec<String>), Expected>,
    sealed: Vec<Sealed>,
    /// Whether `sealed` is sorted by table and key, one entry (the last record's) per row.
    sorted: bool,
    problems: Vec<Finding>,
    checks: u32,
}

impl Replay {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one record, in log order, into the expected state.
    pub fn apply(&mut self, record: &AuditRecord) {
        let entry = &record.entry;
        let unreadable = |reason: String| Finding::Unreadable { seq: record.seq, action: entry.action.clone(), reason };
        let Some(rule) = RULES.iter().find(|r| r.action == entry.action) else {
            self.problems.push(Finding::UnknownAction { seq: record.seq, action: entry.action.clone() });
            return;
        };
        let cmp = comparator(rule.table);
        let image = match rule.effect {
            Effect::Put | Effect::SetField(_) | Effect::Rename => entry.after.as_deref(),
            Effect::Delete => entry.before.as_deref(),
        };
        let Some(image) = image else {
            self.problems.push(unreadable("it has no image to replay".into()));
            return;
        };
        let mut image: Value = match serde_json::from_str(image) {
            Ok(value) => value,
            Err(e) => return self.problems.push(unreadable(format!("its image is not JSON: {e}"))),
        };
        let mut key_source = match rule.effect {
            Effect::SetField(_) => Value::Object(Map::new()),
            Effect::Put | Effect::Delete | Effect::Rename => image.clone(),
        };
        if !rule.entity_key.is_empty() {
            let Value::Object(object) = &mut key_source else {
                return self.problems.push(unreadable("its image is not an object".into()));
            };
            let parts = entry.entity_id.splitn(rule.entity_key.len(), ' ');
            for (name, part) in rule.entity_key.iter().zip(parts) {
                object.insert((*name).to_owned(), Value::String(part.to_owned()));
            }
        }
        let key = match key_of(cmp, &key_source) {
            Ok(key) => key,
            Err(reason) => return self.problems.push(unreadable(reason)),
        };
        if cmp.sealed {
            let digest = match rule.effect {
                Effect::Put => Some(digest_of(cmp, &image)),
                Effect::Delete => None,
                // A sealed table's rows are put and deleted only (the test
                // `sealed_tables_are_only_put_or_deleted` holds the rules to it).
                Effect::SetField(_) | Effect::Rename => {
                    return self.problems.push(unreadable("it changes a row that is only ever added".into()));
                }
            };
            let key = key.join(SEP).into_boxed_str();
            self.sealed.push(Sealed { table: rule.table, key, digest, seq: record.seq, checked: 0 });
            self.sorted = false;
            return;
        }
        let slot = (rule.table, key);
        match rule.effect {
            Effect::Put => {
                let fields = cmp.fields.iter().map(|f| project(f, image.get(f.name))).collect();
                self.rows.insert(slot, Expected { fields: Some(fields), seq: record.seq, checked: 0 });
            }
            Effect::Delete => {
                self.rows.insert(slot, Expected { fields: None, seq: record.seq, checked: 0 });
            }
            Effect::Rename => {
                let old = entry.before.as_deref().map(serde_json::from_str::<Value>);
                let Some(Ok(old)) = old else {
                    return self.problems.push(unreadable("it has no readable before-image".into()));
                };
                let old = match key_of(cmp, &old) {
                    Ok(key) => key,
                    Err(reason) => return self.problems.push(unreadable(reason)),
                };
                self.rows.remove(&(rule.table, old.clone()));
                let fields = cmp.fields.iter().map(|f| project(f, image.get(f.name))).collect();
                self.rename(&old, &slot.1);
                self.rows.insert(slot, Expected { fields: Some(fields), seq: record.seq, checked: 0 });
            }
            Effect::SetField(name) => {
                let existing = self.rows.get_mut(&slot).and_then(|e| Some((e.fields.as_mut()?, &mut e.seq)));
                let (Some((fields, seq)), Some(at)) = (existing, cmp.fields.iter().position(|f| f.name == name)) else {
                    let reason =
                        format!("it changes {} {}, which no earlier record writes", cmp.name, slot.1.join(" "));
                    return self.problems.push(unreadable(reason));
                };
                fields[at] = project(&cmp.fields[at], Some(&image.take()));
                *seq = record.seq;
            }
        }
    }

    /// Moves every row that points at control `old` (one key part) to `new`.
    fn rename(&mut self, old: &[String], new: &[String]) {
        let (Some(old), Some(new)) = (old.first(), new.first()) else { return };
        for (table, refers) in RENAMED {
            let cmp = comparator(*table);
            let slots: Vec<_> = self
                .rows
                .range((*table, Vec::new())..)
                .take_while(|((t, _), _)| t == table)
                .map(|(k, _)| k.clone())
                .collect();
            for slot in slots {
                match refers {
                    Refers::Key(name) => {
                        let Some(at) = cmp.key.iter().position(|k| k == name) else { continue };
                        if slot.1.get(at) == Some(old) {
                            let Some(expected) = self.rows.remove(&slot) else { continue };
                            let mut key = slot.1.clone();
                            key[at] = new.clone();
                            self.rows.insert((*table, key), expected);
                        }
                    }
                    Refers::Items(list, member) => {
                        let Some(at) = cmp.fields.iter().position(|f| f.name == *list) else { continue };
                        let Some(Some(fields)) = self.rows.get_mut(&slot).map(|e| e.fields.as_mut()) else { continue };
                        if let Value::Array(items) = &mut fields[at] {
                            for item in items.iter_mut().filter(|i| i.get(*member) == Some(&Value::String(old.clone())))
                            {
                                item[*member] = Value::String(new.clone());
                            }
                        }
                        let renamed = fields[at].take();
                        fields[at] = project(&cmp.fields[at], Some(&renamed));
                    }
                }
            }
        }
    }

    /// The keys of the rows the log says `table` (one that is not sealed) holds now.
    pub fn keys(&self, table: Table) -> impl Iterator<Item = &[String]> {
        self.rows
            .iter()
            .filter(move |((t, _), expected)| *t == table && expected.fields.is_some())
            .map(|((_, key), _)| key.as_slice())
    }

    /// Compares the current state, given whole (rows of every table in [`COMPARATORS`], each as
    /// JSON with its key fields), with the expected one: [`Replay::check`] in one call.
    pub fn diff(&mut self, actual: impl IntoIterator<Item = (Table, Value)>) -> Vec<Finding> {
        let mut check = self.check();
        for (table, row) in actual {
            check.row(table, &row);
        }
        check.finish()
    }

    /// Starts comparing the current state with the expected one, a row at a time, so that a large
    /// table is never held whole. A check left unfinished (the state moved while it was read) is
    /// simply dropped: the next one starts afresh.
    pub fn check(&mut self) -> Check<'_> {
        self.checks += 1;
        if !self.sorted {
            // The last record of each row wins: newest first within a row, then one per row.
            self.sealed
                .sort_unstable_by(|a, b| (a.table, &a.key, Reverse(a.seq)).cmp(&(b.table, &b.key, Reverse(b.seq))));
            self.sealed.dedup_by(|later, kept| (later.table, &later.key) == (kept.table, &kept.key));
            self.sorted = true;
        }
        let findings = self.problems.clone();
        Check { replay: self, findings }
    }
}

/// One comparison of the current state with the state the log says it is in: feed it every row of
/// every table in [`COMPARATORS`] ([`Check::row`]), then [`Check::finish`].
#[derive(Debug)]
pub struct Check<'a> {
    replay: &'a mut Replay,
    findings: Vec<Finding>,
}

impl Check<'_> {
    /// Compares one current row (as JSON with its key fields) with what the log says.
    pub fn row(&mut self, table: Table, row: &Value) {
        let cmp = comparator(table);
        let round = self.replay.checks;
        let key = match key_of(cmp, row) {
            Ok(key) => key,
            Err(reason) => {
                let action = format!("{} row", cmp.name);
                return self.findings.push(Finding::Unreadable { seq: 0, action, reason });
            }
        };
        if cmp.sealed {
            let joined = key.join(SEP);
            let shown = key.join(" ");
            let sealed = &mut self.replay.sealed;
            let found = sealed.binary_search_by(|s| (s.table, &*s.key).cmp(&(table, joined.as_str())));
            match found.ok().map(|at| &mut sealed[at]) {
                Some(sealed) => {
                    sealed.checked = round;
                    match sealed.digest {
                        Some(digest) if digest != digest_of(cmp, row) => {
                            self.findings.push(Finding::Altered { table, key: shown, seq: sealed.seq });
                        }
                        Some(_) => {}
                        None => {
                            self.findings.push(Finding::Unlogged { table, key: shown, deleted_by: Some(sealed.seq) })
                        }
                    }
                }
                None => self.findings.push(Finding::Unlogged { table, key: shown, deleted_by: None }),
            }
            return;
        }
        let shown = key.join(" ");
        let Some(expected) = self.replay.rows.get_mut(&(table, key)) else {
            return self.findings.push(Finding::Unlogged { table, key: shown, deleted_by: None });
        };
        expected.checked = round;
        let Some(fields) = &expected.fields else {
            return self.findings.push(Finding::Unlogged { table, key: shown, deleted_by: Some(expected.seq) });
        };
        for (field, expected_value) in cmp.fields.iter().zip(fields) {
            let actual = project(field, row.get(field.name));
            if *expected_value != actual {
                self.findings.push(Finding::Differs {
                    table,
                    key: shown.clone(),
                    field: field.name,
                    actual,
                    expected: expected_value.clone(),
                    seq: expected.seq,
                });
            }
        }
    }

    /// Every finding: records replay could not read first, then rows by table and key, each row
    /// the log says exists but the state did not show among them.
    pub fn finish(self) -> Vec<Finding> {
        let round = self.replay.checks;
        let mut findings = self.findings;
        for ((table, key), expected) in &self.replay.rows {
            if expected.fields.is_some() && expected.checked != round {
                findings.push(Finding::Missing { table: *table, key: key.join(" "), seq: expected.seq });
            }
        }
        for sealed in &self.replay.sealed {
            if sealed.digest.is_some() && sealed.checked != round {
                let key = sealed.key.replace(SEP, " ");
                findings.push(Finding::Missing { table: sealed.table, key, seq: sealed.seq });
            }
        }
        // Stable: unreadable records stay in log order, before every row.
        findings.sort_by(|a, b| a.place().cmp(&b.place()));
        findings
    }
}

/// A sealed row's digest: its projected fields, fed to SHA-256 in a canonical form (object members
/// in name order), truncated to 128 bits.
fn digest_of(cmp: &Comparator, row: &Value) -> [u8; 16] {
    let mut hasher = Sha256::new();
    for field in cmp.fields {
        feed(&mut hasher, &project(field, row.get(field.name)));
    }
    let digest = hasher.finalize();
    let mut out = [0; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Feeds a value to a hash unambiguously: each kind tagged, text and lists with their length.
fn feed(hasher: &mut Sha256, value: &Value) {
    let text = |hasher: &mut Sha256, text: &str| {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    };
    match value {
        Value::Null => hasher.update(b"n"),
        Value::Bool(b) => hasher.update(if *b { b"t" } else { b"f" }),
        Value::Number(number) => {
            hasher.update(b"#");
            text(hasher, &number.to_string());
        }
        Value::String(s) => {
            hasher.update(b"s");
            text(hasher, s);
        }
        Value::Array(items) => {
            hasher.update(b"[");
            hasher.update((items.len() as u64).to_le_bytes());
            items.iter().for_each(|item| feed(hasher, item));
        }
        Value::Object(object) => {
            let mut members: Vec<_> = object.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            hasher.update(b"{");
            hasher.update((members.len() as u64).to_le_bytes());
            for (name, member) in members {
                text(hasher, name);
                feed(hasher, member);
            }
        }
    }
}

/// A row's name: its key fields' values, text bare.
fn key_of(cmp: &Comparator, row: &Value) -> Result<Vec<String>, String> {
    let mut parts = Vec::with_capacity(cmp.key.len());
    for name in cmp.key {
        match row.get(name) {
            Some(Value::String(text)) => parts.push(text.clone()),
            Some(number @ Value::Number(_)) => parts.push(number.to_string()),
            _ => return Err(format!("a {} row needs its key field {name:?}", cmp.name)),
        }
    }
    Ok(parts)
}

fn project(field: &Field, value: Option<&Value>) -> Value {
    let value = value.cloned().unwrap_or(Value::Null);
    match field.compare {
        Compare::Exact => value,
        Compare::Present => Value::Bool(!value.is_null()),
        Compare::Unordered => match value {
            Value::Array(mut items) => {
                items.sort_by_cached_key(Value::to_string);
                Value::Array(items)
            }
            other => other,
        },
        Compare::Without(member) => match value {
            Value::Object(mut object) => {
                object.remove(member);
                Value::Object(object)
            }
            other => other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEntry, chain};
    use crate::ids::{OrgId, Sha256Digest};
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;
    use serde_json::json;

    fn record(seq: i64, action: &str, entity_id: &str, before: Option<Value>, after: Option<Value>) -> AuditRecord {
        AuditRecord {
            seq,
            entry: AuditEntry {
                id: format!("rec-{seq}"),
                at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap_or_default(),
                actor: "admin@acme.example".into(),
                action: action.into(),
                entity_type: "x".into(),
                entity_id: entity_id.into(),
                before: before.map(|v| v.to_string()),
                after: after.map(|v| v.to_string()),
            },
            prev_hash: Sha256Digest::zero(),
            hash: Sha256Digest::zero(),
        }
    }

    fn control(code: &str, status: &str) -> Value {
        json!({"code": code, "title": "Backups", "description": "Nightly", "owner": null,
               "frequency": "daily", "status": status})
    }

    fn mapping(control: &str, requirement: &str) -> Value {
        json!({"control": control, "framework": "iso27001:2022", "requirement": requirement,
               "coverage": "full", "rationale": "It does"})
    }

    fn replay(records: &[AuditRecord]) -> Replay {
        let mut replay = Replay::new();
        records.iter().for_each(|r| replay.apply(r));
        replay
    }

    #[test]
    fn every_table_has_one_comparator_and_every_rule_a_known_table() {
        let tables = [
            Table::Organisations,
            Table::Memberships,
            Table::Adoptions,
            Table::Controls,
            Table::Mappings,
            Table::SoaDecisions,
            Table::SoaVersions,
            Table::Methodologies,
            Table::Assets,
            Table::Risks,
            Table::ImportedFrameworks,
            Table::Evidence,
            Table::Samples,
            Table::SampleExceptions,
            Table::ApiTokens,
        ];
        for table in tables {
            assert_eq!(COMPARATORS.iter().filter(|c| c.table == table).count(), 1, "{table:?}");
        }
        for rule in RULES {
            if let Effect::SetField(name) = rule.effect {
                assert!(comparator(rule.table).fields.iter().any(|f| f.name == name), "{}", rule.action);
            }
        }
    }

    #[test]
    fn sealed_tables_are_only_put_or_deleted_and_never_renamed() {
        for rule in RULES.iter().filter(|r| comparator(r.table).sealed) {
            assert!(matches!(rule.effect, Effect::Put | Effect::Delete), "{}", rule.action);
        }
        assert!(RENAMED.iter().all(|(table, _)| !comparator(*table).sealed));
    }

    fn evidence(id: &str, description: &str) -> Value {
        json!({"id": id, "evidence": {"file_name": "review.pdf", "size": 10, "description": description,
                                      "links": [{"control": "c-1", "period": null}]}})
    }

    #[test]
    fn an_evidence_record_changed_missing_or_unlogged_is_named_though_only_its_digest_is_kept() {
        let log = [
            record(7, "evidence.add", "ev-1", None, Some(evidence("ev-1", "Q1 access review"))),
            record(8, "evidence.add", "ev-2", None, Some(evidence("ev-2", "Q2 access review"))),
        ];
        // The same record with its members in another order is the same record.
        let reordered = json!({"evidence": {"links": [{"period": null, "control": "c-1"}], "size": 10,
                                            "description": "Q1 access review", "file_name": "review.pdf"}, "id": "ev-1"});
        assert_eq!(
            replay(&log).diff([(Table::Evidence, reordered), (Table::Evidence, evidence("ev-2", "Q2 access review"))]),
            []
        );
        let actual = [
            (Table::Evidence, evidence("ev-1", "Q1 access review, amended")),
            (Table::Evidence, evidence("ev-3", "?")),
        ];
        let shown: Vec<String> = replay(&log).diff(actual).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "evidence: ev-1 is not what the audit log wrote (record 7)",
                "evidence: ev-2 has no row, the audit log says it exists (record 8)",
                "evidence: ev-3 is in the table, but the audit log never wrote it",
            ]
        );
    }

    #[test]
    fn a_check_left_unfinished_does_not_count_in_the_next() {
        let log = [record(7, "evidence.add", "ev-1", None, Some(evidence("ev-1", "Q1")))];
        let mut replay = replay(&log);
        let mut first = replay.check();
        first.row(Table::Evidence, &evidence("ev-1", "Q1"));
        drop(first);
        assert_eq!(replay.diff([]).len(), 1, "the row met by the abandoned check is missing from this one");
    }

    #[test]
    fn a_role_changed_in_the_table_is_named_with_the_record_that_set_it() {
        let log = [record(
            57,
            "member.add",
            "bob@x.example",
            None,
            Some(json!({"email": "bob@x.example", "role": "viewer"})),
        )];
        let actual = [(Table::Memberships, json!({"email": "bob@x.example", "display_name": "Bob", "role": "admin"}))];
        let findings = replay(&log).diff(actual);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            findings[0].to_string(),
            "memberships: bob@x.example has role admin, the audit log says viewer (record 57)"
        );
        assert_eq!(findings[0].code(), "state_differs");
    }

    #[test]
    fn the_last_after_image_wins_and_timestamps_the_log_lacks_are_not_compared() {
        let mut retired = control("OPS-1", "implemented");
        retired["retired_at"] = json!("2026-03-02T09:00:00.123456789Z");
        retired["updated_at"] = json!("2026-03-02T09:00:00Z");
        let log = [
            record(3, "control.create", "OPS-1", None, Some(control("OPS-1", "in_progress"))),
            record(4, "control.update", "OPS-1", None, Some(control("OPS-1", "implemented"))),
            record(5, "control.retire", "OPS-1", None, Some(retired)),
        ];
        let mut stored = control("OPS-1", "implemented");
        stored["retired_at"] = json!("2026-03-02T09:00:00.123456Z");
        stored["created_at"] = json!("2026-03-01T00:00:00Z");
        assert_eq!(replay(&log).diff([(Table::Controls, stored.clone())]), []);
        stored["status"] = json!("not_started");
        let findings = replay(&log).diff([(Table::Controls, stored)]);
        assert_eq!(
            findings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["controls: OPS-1 has status not_started, the audit log says implemented (record 5)"]
        );
    }

    #[test]
    fn deleted_unlogged_and_missing_rows_are_named() {
        let log = [
            record(3, "mapping.set", "m", None, Some(mapping("OPS-1", "A.8.13"))),
            record(4, "mapping.set", "m", None, Some(mapping("OPS-1", "A.8.14"))),
            record(5, "mapping.delete", "m", Some(mapping("OPS-1", "A.8.14")), None),
        ];
        let actual = [(Table::Mappings, mapping("OPS-1", "A.8.14")), (Table::Mappings, mapping("OPS-2", "A.5.1"))];
        let shown: Vec<String> = replay(&log).diff(actual).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "mappings: OPS-1 iso27001:2022 A.8.13 has no row, the audit log says it exists (record 3)",
                "mappings: OPS-1 iso27001:2022 A.8.14 is in the table, but the audit log deleted it (record 5)",
                "mappings: OPS-2 iso27001:2022 A.5.1 is in the table, but the audit log never wrote it",
            ]
        );
    }

    #[test]
    fn keys_missing_from_an_image_come_from_the_entity_id() {
        let decision = json!({"applicable": false, "reasons": ["legal", "business_need"], "justification": "Remote"});
        let log = [
            record(6, "soa.decide", "iso27001:2022 A.7.1", None, Some(decision.clone())),
            record(7, "soa.decide", "nist-ai-rmf:1.0 GOVERN 1.1", None, Some(decision)),
        ];
        let row = |requirement: &str, applicable: bool| {
            (
                Table::SoaDecisions,
                json!({"framework": requirement.split(' ').next(), "requirement": requirement.split_once(' ').map(|p| p.1),
                       "applicable": applicable, "reasons": ["business_need", "legal"], "justification": "Remote"}),
            )
        };
        let clean = [row("iso27001:2022 A.7.1", false), row("nist-ai-rmf:1.0 GOVERN 1.1", false)];
        assert_eq!(replay(&log).diff(clean), [], "reasons compare as a set; a ref may hold a space");
        let changed = [row("iso27001:2022 A.7.1", true), row("nist-ai-rmf:1.0 GOVERN 1.1", false)];
        let findings = replay(&log).diff(changed);
        assert_eq!(
            findings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["soa_decisions: iso27001:2022 A.7.1 has applicable true, the audit log says false (record 6)"]
        );
    }

    #[test]
    fn an_acceptance_sets_one_field_of_the_risk_the_log_wrote() {
        let risk =
            json!({"code": "R-1", "title": "Loss", "assets": ["AST-B", "AST-A"], "acceptance": null, "closed": false});
        let acceptance =
            json!({"by": "a@x.example", "at": "2026-03-04T10:00:00.123456789Z", "expires": "2027-01-01", "note": "ok"});
        let log = [
            record(8, "risk.put", "R-1", None, Some(risk.clone())),
            record(9, "risk.accept", "R-1", None, Some(acceptance.clone())),
        ];
        let mut stored = risk.clone();
        stored["assets"] = json!(["AST-A", "AST-B"]);
        stored["acceptance"] =
            json!({"by": "a@x.example", "at": "2026-03-04T10:00:00.123456Z", "expires": "2027-01-01", "note": "ok"});
        assert_eq!(replay(&log).diff([(Table::Risks, stored.clone())]), []);
        stored["acceptance"] = Value::Null;
        let findings = replay(&log).diff([(Table::Risks, stored)]);
        assert!(matches!(&findings[..], [Finding::Differs { field: "acceptance", seq: 9, .. }]), "{findings:?}");
        let orphan = replay(&[record(9, "risk.accept", "R-9", None, Some(acceptance))]).diff([]);
        assert_eq!(
            orphan.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["record #9 (risk.accept) cannot be replayed: it changes risks R-9, which no earlier record writes"]
        );
    }

    #[test]
    fn a_rename_moves_the_control_and_what_points_at_it() {
        let renamed = |code: &str| control(code, "implemented");
        let risk = json!({"code": "R-1", "controls": [{"control": "OPS-1", "planned": false, "due": null}]});
        let log = [
            record(3, "control.create", "OPS-1", None, Some(control("OPS-1", "implemented"))),
            record(4, "mapping.set", "m", None, Some(mapping("OPS-1", "A.8.13"))),
            record(5, "risk.create", "R-1", None, Some(risk)),
            record(6, "control.rename", "OPS-1", Some(renamed("OPS-1")), Some(renamed("BCK-1"))),
        ];
        let actual = [
            (Table::Controls, renamed("BCK-1")),
            (Table::Mappings, mapping("BCK-1", "A.8.13")),
            (Table::Risks, json!({"code": "R-1", "controls": [{"control": "BCK-1", "planned": false, "due": null}]})),
        ];
        assert_eq!(replay(&log).diff(actual), []);
    }

    #[test]
    fn an_unknown_action_or_a_broken_image_is_a_finding_not_a_panic() {
        let log = [
            record(10, "control.split", "OPS-1", None, Some(json!({}))),
            record(11, "control.create", "OPS-1", None, Some(json!("not an object"))),
            record(12, "member.add", "x", None, None),
            AuditRecord {
                entry: AuditEntry { after: Some("{".into()), ..record(13, "asset.put", "A", None, None).entry },
                ..record(13, "asset.put", "A", None, None)
            },
        ];
        let findings = replay(&log).diff([]);
        let codes: Vec<_> = findings.iter().map(Finding::code).collect();
        assert_eq!(codes, ["unknown_action", "unreadable_record", "unreadable_record", "unreadable_record"]);
        assert!(findings[0].to_string().contains("unknown action \"control.split\""), "{}", findings[0]);
    }

    /// A random history of control and mapping changes, replayed against the state it leads to.
    #[derive(Debug, Clone)]
    enum Step {
        Create(u8),
        Status(u8, u8),
        Map(u8, u8),
        Unmap(u8, u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..6).prop_map(Step::Create),
            (0u8..6, 0u8..3).prop_map(|(c, s)| Step::Status(c, s)),
            (0u8..6, 0u8..4).prop_map(|(c, r)| Step::Map(c, r)),
            (0u8..6, 0u8..4).prop_map(|(c, r)| Step::Unmap(c, r)),
        ]
    }

    /// Runs `steps` against a model state, logging each change as the store would.
    fn run(steps: &[Step]) -> (Vec<AuditRecord>, Vec<(Table, Value)>) {
        const STATUS: [&str; 3] = ["not_started", "in_progress", "implemented"];
        let mut controls: BTreeMap<String, Value> = BTreeMap::new();
        let mut mappings: BTreeMap<(String, String), Value> = BTreeMap::new();
        let mut entries = Vec::new();
        let mut log = |action: &str, before: Option<&Value>, after: Option<&Value>| {
            entries.push(AuditEntry {
                id: format!("rec-{}", entries.len()),
                at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap_or_default(),
                actor: "system".into(),
                action: action.into(),
                entity_type: "x".into(),
                entity_id: "x".into(),
                before: before.map(Value::to_string),
                after: after.map(Value::to_string),
            });
        };
        for step in steps {
            match *step {
                Step::Create(c) => {
                    let code = format!("C-{c}");
                    if let std::collections::btree_map::Entry::Vacant(slot) = controls.entry(code) {
                        let row = control(slot.key(), "in_progress");
                        log("control.create", None, Some(&row));
                        slot.insert(row);
                    }
                }
                Step::Status(c, s) => {
                    if let Some(row) = controls.get_mut(&format!("C-{c}")) {
                        row["status"] = json!(STATUS[usize::from(s)]);
                        row["updated_at"] = json!("2026-03-02T00:00:00Z");
                        log("control.update", None, Some(row));
                    }
                }
                Step::Map(c, r) => {
                    let (code, requirement) = (format!("C-{c}"), format!("A.5.{r}"));
                    if controls.contains_key(&code) {
                        let row = mapping(&code, &requirement);
                        log("mapping.set", None, Some(&row));
                        mappings.insert((code, requirement), row);
                    }
                }
                Step::Unmap(c, r) => {
                    if let Some(row) = mappings.remove(&(format!("C-{c}"), format!("A.5.{r}"))) {
                        log("mapping.delete", Some(&row), None);
                    }
                }
            }
        }
        let (records, _) = chain(&OrgId::from_store("org".into()), entries);
        let state = controls
            .into_values()
            .map(|v| (Table::Controls, v))
            .chain(mappings.into_values().map(|v| (Table::Mappings, v)))
            .collect();
        (records, state)
    }

    proptest! {
        #[test]
        fn replaying_a_history_gives_the_state_it_led_to(steps in prop::collection::vec(step(), 0..40)) {
            let (records, state) = run(&steps);
            prop_assert_eq!(replay(&records).diff(state), vec![]);
        }

        #[test]
        fn any_one_edited_or_removed_row_is_named(steps in prop::collection::vec(step(), 1..40), pick in 0usize..100, remove in any::<bool>()) {
            let (records, mut state) = run(&steps);
            prop_assume!(!state.is_empty());
            let i = pick % state.len();
            let key = key_of(comparator(state[i].0), &state[i].1).unwrap_or_default().join(" ");
            if remove {
                state.remove(i);
            } else {
                state[i].1["rationale"] = json!("forged");
                state[i].1["title"] = json!("forged");
            }
            let findings = replay(&records).diff(state);
            prop_assert_eq!(findings.len(), 1, "{:?}", findings);
            let named = match &findings[0] {
                Finding::Differs { key: k, .. } | Finding::Missing { key: k, .. } => k.clone(),
                other => format!("{other:?}"),
            };
            prop_assert_eq!(named, key);
        }
    }
}
