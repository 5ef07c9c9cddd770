//! Every flag and subcommand, defined once. `evident --help` is the manual.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use evident_app::attributes::{AttributeFilter, AttributeView};
use evident_app::soa::SoaSelector;
use evident_core::evidence::Period;
use evident_core::risk::{AssetKind, Classification, Treatment};
use evident_core::soa::Reason;
use evident_core::{
    AssetCode, ControlCode, Coverage, Email, EvidenceId, FrameworkId, Frequency, ImplementationStatus, OrgSlug,
    RequirementRef, RiskCode, Role, SampleId,
};

/// A parser for a named enum that lists its allowed values in `--help` and in errors.
macro_rules! choice {
    ($t:ty) => {
        PossibleValuesParser::new(<$t>::ALL.iter().map(|v| v.as_str())).try_map(|s| <$t>::parse(&s))
    };
}

/// evident: one control set, one body of evidence, every framework.
///
/// Implement each control once, map it to every framework it serves (ISO/IEC 27001:2022,
/// SOC 2…), and see at any moment how ready you are and what is missing.
#[derive(Debug, Parser)]
#[command(name = "evident", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Where evident keeps its SQLite database and files.
    #[arg(long, global = true, env = "EVIDENT_DATA_DIR", default_value = "./evident-data")]
    pub data_dir: PathBuf,
    /// Use this database instead of SQLite in the data directory (postgres://user@host/db).
    #[arg(long, global = true, env = "EVIDENT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where evidence files are kept: a directory, or an S3-compatible bucket
    /// (s3://BUCKET?endpoint=URL&region=REGION; credentials from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY). Default: the data directory's `evidence` folder.
    #[arg(long, global = true, env = "EVIDENT_EVIDENCE_STORE", value_name = "DIR|S3-URL")]
    pub evidence_store: Option<String>,
    /// The organisation to act in (its slug); optional when there is only one.
    #[arg(long, global = true, env = "EVIDENT_ORG")]
    pub org: Option<OrgSlug>,
    /// Act as this member (e-mail), with their role. Without it you act as the operator of this
    /// installation (your OS user), with every permission, and the audit log says so.
    #[arg(long = "as", global = true, env = "EVIDENT_USER", value_name = "EMAIL")]
    pub acting_as: Option<Email>,
    /// Print JSON for machines instead of tables for humans.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prepare the data directory and database (safe to run again); optionally create an organisation.
    Init(InitArgs),
    /// Create (or show again) a demo organisation with a realistic control set, and its readiness.
    Demo,
    /// Organisations on this installation (operator commands: whoever can open the database).
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Start the HTTP server (the REST API) on the same database. On the first start, with no
    /// account yet, it creates the account of the demo organisation's administrator (or the only
    /// organisation's) and prints its password, once.
    Serve(ServeArgs),
    /// Accounts that can sign in to the server (operator commands: whoever can open the database).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Members of the organisation and their roles.
    #[command(subcommand)]
    Members(MembersCommand),
    /// The framework library: list, show, adopt.
    #[command(subcommand)]
    Frameworks(FrameworksCommand),
    /// The organisation's controls and their mappings.
    #[command(subcommand)]
    Controls(ControlsCommand),
    /// OSCAL documents (NIST's format for control catalogs): validate a catalog or profile, resolve
    /// a profile into its catalog. Import a catalog with `frameworks import-oscal`.
    #[command(subcommand)]
    Oscal(OscalCommand),
    /// Prove every organisation's audit log (an operator command, across organisations): the hash
    /// chain is whole, the current state is what the log says, approved SoA versions match their
    /// digests; with --witness, that no log was rewound, emptied or re-hashed since it was anchored.
    Verify {
        /// A witness file written by `evident anchor`: each log must still extend its latest head there.
        #[arg(long, value_name = "FILE")]
        witness: Option<PathBuf>,
    },
    /// Verify, then append each organisation's chain head to a witness file (an operator command,
    /// across organisations). Keep the file where the database's administrators cannot write.
    Anchor {
        /// The witness file (JSON Lines, appended atomically).
        #[arg(long, value_name = "FILE", default_value = "evident-witness.jsonl")]
        witness: PathBuf,
    },
    /// Write a backup of the whole installation into DIR (an operator command, across
    /// organisations): every organisation's records and audit log from one consistent read of the
    /// database, the evidence bytes they name, and manifest.json (each file's SHA-256) last.
    /// Safe while others write. DIR must be new or empty; keep the backup where the database's
    /// administrators cannot write.
    Backup {
        /// The directory to write (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Restore a backup written by `evident backup` into an empty database and its evidence store
    /// (an operator command): checks every file against the manifest before writing anything,
    /// loads everything in one transaction, then verifies every restored audit log.
    Restore {
        /// The backup directory (the one holding manifest.json).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// How ready the organisation is for each adopted framework, with a drill-down for one.
    Readiness {
        /// Show one framework in detail: groups, categories and every requirement with its reason.
        #[arg(long)]
        framework: Option<FrameworkId>,
        #[command(flatten)]
        attributes: AttributeArgs,
        /// With --json: compute it from the records even when nothing changed since it was last
        /// computed (a benchmark's cold run).
        #[arg(long, hide = true)]
        recompute: bool,
    },
    /// What a target framework adds to what the organisation has for another, and what reaches it.
    Gap {
        /// The framework the organisation already works to (e.g. soc2:2017).
        #[arg(long)]
        from: FrameworkId,
        /// The framework it is moving to (e.g. iso27001:2022).
        #[arg(long)]
        to: FrameworkId,
        /// Accept the suggestions for this target requirement: map the suggested controls to it.
        #[arg(long, value_name = "REF")]
        accept: Vec<RequirementRef>,
        /// Accept every suggestion.
        #[arg(long, conflicts_with = "accept")]
        accept_all: bool,
    },
    /// Links between the requirements of two frameworks.
    #[command(subcommand)]
    Crosswalk(CrosswalkCommand),
    /// The Statement of Applicability: ISO/IEC 27001:2022 Annex A, or another framework's.
    Soa(SoaArgs),
    /// The risk methodology: likelihood × impact matrix, risk levels and acceptance criteria.
    #[command(subcommand)]
    Methodology(MethodologyCommand),
    /// Assets the risk register protects.
    #[command(subcommand)]
    Assets(AssetsCommand),
    /// The risk register, its treatment plan, acceptances and heat map.
    #[command(subcommand)]
    Risks(RisksCommand),
    /// Evidence: files that prove controls operated, stored once by their SHA-256, never changed.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Each control's evidence freshness (fresh, due soon, overdue, never evidenced) and what falls
    /// due in the next days.
    Freshness {
        /// How many days ahead the calendar looks.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1098))]
        days: u32,
    },
    /// SOC 2 Type 2 window analysis: each control's expected occurrences, those evidenced, the
    /// missing periods, the population and a reproducible sample.
    Type2(Type2Args),
    /// Recorded Type 2 samples and their exceptions.
    #[command(subcommand)]
    Samples(SamplesCommand),
    /// Measure evident's engines on a synthetic organisation.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Add a file as evidence of one or more controls.
    Add {
        file: PathBuf,
        /// A control it proves (repeat for several).
        #[arg(long = "control", required = true)]
        controls: Vec<ControlCode>,
        /// When the thing it proves happened (YYYY-MM-DD), not when it is uploaded.
        #[arg(long)]
        effective: NaiveDate,
        /// The period it proves, FROM..TO (e.g. 2026-03-01..2026-03-31); for every control named.
        #[arg(long, value_parser = parse_period)]
        period: Option<Period>,
        #[arg(long, default_value = "")]
        description: String,
        /// The largest file accepted, in bytes.
        #[arg(long, default_value_t = evident_app::evidence::DEFAULT_MAX_FILE)]
        max_size: u64,
    },
    /// Import the files a manifest names (CSV or XLSX: file, controls, effective, period,
    /// description), all or nothing; run again, it skips what is already recorded.
    Import {
        dir: PathBuf,
        #[arg(long)]
        manifest: PathBuf,
        #[arg(long, default_value_t = evident_app::evidence::DEFAULT_MAX_FILE)]
        max_size: u64,
    },
    /// Evidence records, newest effective date first.
    List {
        /// Only the records of this control.
        #[arg(long)]
        control: Option<ControlCode>,
        /// Superseded records too.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One record: its file, digest, dates, controls and who added it.
    Show { id: EvidenceId },
    /// Write a record's file exactly as stored (verified as it is written).
    Get {
        id: EvidenceId,
        /// Where to write it; the record's file name in the current folder when left out.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Remove stored bytes that no record of any organisation names and that are older than the
    /// grace time: uploads whose record never landed. An operator command, across organisations.
    Gc {
        /// Keep unreferenced bytes younger than this many hours (their record may be landing).
        #[arg(long, default_value_t = 24)]
        grace_hours: u32,
    },
    /// Correct a record with a new file: the old record stays but no longer counts. Controls,
    /// periods and description are the old record's unless given.
    Supersede {
        id: EvidenceId,
        file: PathBuf,
        #[arg(long)]
        effective: NaiveDate,
        #[arg(long = "control")]
        controls: Vec<ControlCode>,
        #[arg(long, value_parser = parse_period)]
        period: Option<Period>,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, default_value_t = evident_app::evidence::DEFAULT_MAX_FILE)]
        max_size: u64,
    },
}

#[derive(Debug, Args)]
pub struct Type2Args {
    /// The window's first day.
    #[arg(long)]
    pub from: NaiveDate,
    /// The window's last day (3 to 12 months after the first).
    #[arg(long)]
    pub to: NaiveDate,
    /// The framework whose mapped controls are in scope.
    #[arg(long, default_value = "soc2:2017")]
    pub framework: FrameworkId,
    /// The sampling table: a preset (frequency, frequency-high, population), or a TOML file of
    /// the organisation's own.
    #[arg(long, default_value = "frequency")]
    pub preset: String,
    /// The seed the sample is drawn from; a new one is chosen and shown when left out.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the population to this file (CSV or XLSX) with its completeness-and-accuracy record.
    #[arg(long)]
    pub population: Option<PathBuf>,
    /// Write the sample to this file (CSV or XLSX) with its completeness-and-accuracy record.
    #[arg(long)]
    pub sample: Option<PathBuf>,
    /// Record the drawn sample, so exceptions can be recorded against it (`evident samples`).
    #[arg(long)]
    pub record: bool,
}

#[derive(Debug, Subcommand)]
pub enum SamplesCommand {
    /// The recorded Type 2 samples and the exceptions found in them.
    List,
    /// Record an exception against one sampled occurrence of a control.
    Exception {
        sample: SampleId,
        #[arg(long)]
        control: ControlCode,
        /// The sampled occurrence, FROM..TO as `type2` shows it.
        #[arg(long, value_parser = parse_period)]
        occurrence: Period,
        /// What was found.
        #[arg(long)]
        note: String,
    },
}

fn parse_period(text: &str) -> Result<Period, String> {
    evident_core::evidence::parse_period(text).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum CrosswalkCommand {
    /// List every link from one framework to another: from, to, relationship, strength, rationale.
    Show {
        #[arg(long)]
        from: FrameworkId,
        #[arg(long)]
        to: FrameworkId,
    },
}

/// Selecting and grouping requirements by their attributes (ISO 27002's control type, security
/// properties, cybersecurity concepts, operational capabilities, security domains, or any other a
/// framework carries).
#[derive(Debug, Clone, Default, Args)]
pub struct AttributeArgs {
    /// Only requirements carrying this attribute value, e.g. security_domains=defence or
    /// control_type=detective; repeat to require several. Case, `_`, `-` and spaces do not matter.
    #[arg(long = "attribute", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    pub attributes: Vec<AttributeFilter>,
    /// Group by the values of this attribute, e.g. cybersecurity_concepts.
    #[arg(long, value_name = "KEY")]
    pub group_by: Option<String>,
}

impl AttributeArgs {
    pub fn view(&self) -> AttributeView {
        AttributeView { filters: self.attributes.clone(), group_by: self.group_by.clone() }
    }
}

fn parse_attribute(text: &str) -> Result<AttributeFilter, String> {
    AttributeFilter::parse(text).map_err(|e| e.message)
}

#[derive(Debug, Args)]
pub struct SoaArgs {
    /// The framework whose SoA this is (one whose data carries a Statement of Applicability, e.g.
    /// an imported one); ISO/IEC 27001:2022 when left out.
    #[arg(long, global = true)]
    pub framework: Option<FrameworkId>,
    #[command(subcommand)]
    pub command: SoaCommand,
}

#[derive(Debug, Subcommand)]
pub enum SoaCommand {
    /// The current SoA: applicability, justification, implementation, implementing controls.
    Show {
        #[command(flatten)]
        attributes: AttributeArgs,
    },
    /// Record a decision on one Annex A control.
    Set {
        /// The Annex A control, e.g. A.7.1.
        reference: RequirementRef,
        /// Exclude the control (needs --reason and --justification).
        #[arg(long)]
        exclude: bool,
        /// Why the control is in, or out.
        #[arg(long = "reason", value_delimiter = ',', value_parser = choice!(Reason))]
        reasons: Vec<Reason>,
        #[arg(long, default_value = "")]
        justification: String,
    },
    /// Approve the current SoA as the next immutable version.
    Approve,
    /// List approved versions.
    Versions,
    /// What changed between two versions (a number, or `draft` for the current SoA).
    Diff {
        from: SoaSelector,
        #[arg(default_value = "draft")]
        to: SoaSelector,
    },
    /// Write the SoA to a .csv or .xlsx file in the layout an ISO auditor expects.
    Export {
        file: PathBuf,
        /// An approved version; the current draft when left out.
        #[arg(long)]
        version: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Full readiness recompute and one gap delta on 10 frameworks, 5,000 requirements, 2,000 controls, 20,000 mappings.
    Readiness {
        #[arg(long, default_value_t = 30)]
        iterations: usize,
    },
    /// The whole process on a real database: seeds an organisation with CONTROLS controls and
    /// MAPPINGS mappings (ISO 27001:2022 + SOC 2) through a controls import, then times the real
    /// binary's `readiness --json` and `controls list --json`, each computed from the records (the
    /// first read after a change) and served as stored (every later read until the next change). Uses a fresh temporary SQLite data
    /// directory, or a fresh organisation in the database --database-url names.
    Store {
        #[arg(long, default_value_t = 2000)]
        controls: usize,
        #[arg(long, default_value_t = 20000)]
        mappings: usize,
        /// How many times each command runs.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Seed into --data-dir and keep it (for profiling), instead of a temporary directory.
        #[arg(long)]
        keep: bool,
    },
    /// The evidence figures in one run: bulk ingest of SIZE of generated mixed-size files into a
    /// fresh local evidence store against `sha256sum` over the same files (fsync included); the
    /// peak memory of ingesting one input 2.5 times SIZE (5 GiB by default, in a child process);
    /// the Type 2 analysis of 500 daily controls over a year; and readiness with freshness on the
    /// `bench store` organisation (2,000 controls, 20,000 mappings) with RECORDS evidence records,
    /// in process and as the real binary.
    Evidence {
        /// Total size of the generated files, e.g. 2G, 200M (K, M, G: powers of 1024).
        #[arg(long, default_value = "2G", value_parser = parse_size)]
        size: u64,
        /// How many files are ingested at once.
        #[arg(long, default_value_t = evident_evidence::DEFAULT_CONCURRENCY)]
        jobs: usize,
        /// Evidence records seeded for the readiness figure.
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        /// How many times each timed step runs (the median is reported).
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Seed into --data-dir (or the --database-url database) and keep it; a later run with
        /// --keep finds the records there and seeds only what is missing.
        #[arg(long)]
        keep: bool,
        /// Skip both ingest figures (bulk and the one big input).
        #[arg(long)]
        skip_ingest: bool,
        /// Internal: ingest one generated input of this size and print the peak memory as JSON.
        #[arg(long, hide = true, value_parser = parse_size)]
        one_big_file: Option<u64>,
    },
}

/// A size in bytes: a number with an optional K, M or G (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        other => return Err(format!("unknown unit {other:?}: write a number with K, M or G, e.g. 2G")),
    };
    let number: u64 = number.parse().map_err(|_| format!("{text:?} is not a size: write e.g. 2G or 500M"))?;
    number.checked_mul(unit).filter(|n| *n > 0).ok_or_else(|| format!("{text:?} is not a size above zero"))
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also create an organisation with this slug (lowercase letters, digits, '-').
    #[arg(long = "create-org", value_name = "SLUG", requires = "admin")]
    pub create_org: Option<OrgSlug>,
    /// The organisation's display name (defaults to the slug).
    #[arg(long)]
    pub name: Option<String>,
    /// E-mail of the organisation's first administrator.
    #[arg(long, value_name = "EMAIL")]
    pub admin: Option<Email>,
    /// The administrator's display name.
    #[arg(long, value_name = "NAME")]
    pub admin_name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// List organisations.
    List,
    /// Create an organisation with its first administrator.
    Create {
        slug: OrgSlug,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_name = "EMAIL")]
        admin: Email,
        #[arg(long, value_name = "NAME")]
        admin_name: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, env = "EVIDENT_BIND", default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: std::net::SocketAddr,
    /// Create (or complete) the demo organisation first.
    #[arg(long)]
    pub demo: bool,
    /// Believe `X-Forwarded-Proto: https` from a reverse proxy in front: session cookies are then
    /// `Secure`. Only behind a proxy that sets the header itself.
    #[arg(long, env = "EVIDENT_TRUST_PROXY")]
    pub trust_proxy: bool,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create the account of EMAIL (a member of any organisation, or not yet) and print a
    /// generated password, once; or read the password from standard input.
    Create {
        email: Email,
        /// Read the password (one line, at least 12 characters) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for EMAIL (every session of theirs ends) and print it, once; or read it
    /// from standard input.
    SetPassword {
        email: Email,
        /// Read the password (one line, at least 12 characters) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// List members and roles.
    List,
    /// Change a member's role, or the name this organisation knows them by.
    Set {
        email: Email,
        #[arg(long, value_parser = choice!(Role))]
        role: Option<Role>,
        #[arg(long)]
        name: Option<String>,
    },
    /// Add a member with a role, and the name this organisation knows them by.
    Add {
        email: Email,
        #[arg(long, value_parser = choice!(Role))]
        role: Role,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OscalCommand {
    /// Check an OSCAL catalog or profile (JSON) against NIST's schema (1.2.1) and beyond it:
    /// duplicate ids, inserted parameters that do not exist, links to back-matter resources that
    /// do not exist. Every problem is listed with its JSON path; the exit code is non-zero if any.
    Validate {
        file: PathBuf,
        /// The largest file read, in bytes.
        #[arg(long, default_value_t = evident_app::oscal::DEFAULT_MAX_BYTES)]
        max_size: u64,
    },
    /// Resolve an OSCAL profile into the catalog it selects (NIST's profile-resolution rules):
    /// imports, merge, set-parameters and alters. Only files in the profile's directory are read,
    /// never the network; an import naming an .xml file reads the .json beside it.
    Resolve {
        profile: PathBuf,
        /// Write the resolved catalog here (atomically) instead of to standard output.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The largest file read, in bytes.
        #[arg(long, default_value_t = evident_app::oscal::DEFAULT_MAX_BYTES)]
        max_size: u64,
    },
    /// Export the organisation's work on an adopted framework as OSCAL 1.2.1 JSON: `ssp` (system
    /// security plan: a component per mapped control, an implemented requirement per mapped
    /// requirement), `ar` (assessment results: an observation per piece of evidence, a finding per
    /// requirement readiness says is not met) or `poam` (plan of action and milestones for those
    /// findings, naming the SSP by --ssp-href). UUIDs derive from evident's ids, so exporting again
    /// changes only `metadata/last-modified`. The file is checked against NIST's schema first.
    Export {
        #[arg(value_parser = ["ssp", "ar", "poam"])]
        kind: String,
        /// The adopted framework (e.g. oscal/nist-sp-800-53-rev5-moderate:5.1.1).
        #[arg(long, value_name = "ID")]
        framework: FrameworkId,
        /// Write the document here (atomically).
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
        /// POA&M: where the SSP is, relative to the POA&M (its import-ssp href).
        #[arg(long, value_name = "HREF", default_value = "ssp.json")]
        ssp_href: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum FrameworksCommand {
    /// List the frameworks in the library (built-in and imported), and which the organisation has adopted.
    List,
    /// Show a framework and every requirement (`--json`: ref, label, title, parent, kind, description,
    /// attributes). An imported framework is shown to its organisation.
    Show { id: FrameworkId },
    /// Import the organisation's own framework (its policy, a customer's requirements) into its
    /// library: all requirements, or none.
    ///
    /// FILE is either TOML in the built-in frameworks' format (id, name, version, title, publisher,
    /// description, optional categories and `soa = { kind = "..." }`, then [[requirements]] with
    /// ref, optional label, optional parent, kind, title, description), or a .csv/.xlsx file with
    /// the columns ref, label, title, parent, kind, description (ref, title and description
    /// required; kind defaults to `requirement`), described by --id and the flags beside it.
    ///
    /// The id carries the organisation's namespace (org/acme-policy:2025), so it can never take
    /// a built-in framework's id. Requirements without children are assessed, the others group
    /// them. Importing the same content again changes nothing; other content under an id already
    /// imported is refused: import it as a new version (a new id).
    Import {
        file: PathBuf,
        /// CSV/XLSX (required there): the framework's id, with a namespace: NAMESPACE/NAME:VERSION.
        #[arg(long, value_name = "ID")]
        id: Option<FrameworkId>,
        /// CSV/XLSX: its name (default: the id's name).
        #[arg(long, requires = "id")]
        name: Option<String>,
        /// CSV/XLSX: its version as published (default: the id's version).
        #[arg(long = "version", requires = "id", value_name = "VERSION")]
        framework_version: Option<String>,
        /// CSV/XLSX: its title (default: the name).
        #[arg(long, requires = "id")]
        title: Option<String>,
        /// CSV/XLSX: who publishes it (default: the organisation's name).
        #[arg(long, requires = "id")]
        publisher: Option<String>,
        /// CSV/XLSX: what it is, in a sentence or two.
        #[arg(long, requires = "id")]
        description: Option<String>,
    },
    /// Import an OSCAL catalog (JSON), e.g. NIST SP 800-53 rev5, into the organisation's library:
    /// its groups become the requirement tree, its controls and enhancements the assessed
    /// requirements (with their labels, statements, parameters and guidance); withdrawn controls
    /// are left out. A profile (a baseline such as SP 800-53 MODERATE) is resolved first, reading
    /// the catalogs it imports from its own directory. The file is validated against NIST's schema
    /// and its own references first: every problem is listed, and nothing is imported.
    ///
    /// Importing the same content again changes nothing; other content under an id already
    /// imported is refused: import it as a new version (a new id).
    ///
    /// A new revision of a catalog imported before (same namespace and name, another version; or
    /// --previous) is compared with it: added, removed, changed and moved requirements, each
    /// explained, and a crosswalk from every old requirement to the new (following the catalog's
    /// own moved-to and incorporated-into links for withdrawn controls). --carry-mappings maps
    /// the controls mapped to the old revision onto the new one, in the same transaction; a
    /// mapping with nowhere to go is listed, never left pointing nowhere.
    ImportOscal {
        file: PathBuf,
        /// The framework's id, with a namespace: NAMESPACE/NAME:VERSION (default:
        /// oscal/<the catalog's title>:<its version>).
        #[arg(long, value_name = "ID")]
        id: Option<FrameworkId>,
        /// The largest file read, in bytes.
        #[arg(long, default_value_t = evident_app::oscal::DEFAULT_MAX_BYTES)]
        max_size: u64,
        /// The earlier revision to compare with (an imported framework's id).
        #[arg(long, value_name = "ID")]
        previous: Option<FrameworkId>,
        /// Carry the mappings of the earlier revision over to this one.
        #[arg(long)]
        carry_mappings: bool,
    },
    /// Adopt a framework for the organisation, with its scope.
    Adopt {
        id: FrameworkId,
        /// Scope categories (SOC 2: security, availability, processing_integrity, confidentiality, privacy).
        #[arg(long, value_delimiter = ',')]
        categories: Vec<String>,
        /// Systems, sites and boundaries in scope.
        #[arg(long, default_value = "")]
        scope: String,
        /// Target date for readiness (YYYY-MM-DD).
        #[arg(long)]
        target: Option<NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ControlsCommand {
    /// List controls with owner, frequency, status and mapping count.
    List {
        /// Include retired controls.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        attributes: AttributeArgs,
        /// With --json: compute it from the records even when nothing changed since it was last
        /// computed (a benchmark's cold run).
        #[arg(long, hide = true)]
        recompute: bool,
    },
    /// Show one control and its mappings.
    Show { code: ControlCode },
    /// Create a control.
    Create {
        code: ControlCode,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Member e-mail of the owner.
        #[arg(long)]
        owner: Option<Email>,
        #[arg(long, default_value = "annual", value_parser = choice!(Frequency))]
        frequency: Frequency,
        /// The oldest its evidence may be, in days (1 to 1830), whatever the frequency says:
        /// a monthly control with 10 is overdue 10 days after its latest evidence.
        #[arg(long, value_name = "DAYS", allow_negative_numbers = true)]
        max_evidence_age_days: Option<String>,
        #[arg(long, default_value = "not_started", value_parser = choice!(ImplementationStatus))]
        status: ImplementationStatus,
    },
    /// Change a control's title, description, owner, frequency, maximum evidence age or status.
    Edit {
        code: ControlCode,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Member e-mail of the owner; `none` clears it.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, value_parser = choice!(Frequency))]
        frequency: Option<Frequency>,
        /// The oldest its evidence may be, in days (1 to 1830); `none` clears it, so the
        /// frequency alone says when evidence is due.
        #[arg(long, value_name = "DAYS|none", allow_negative_numbers = true)]
        max_evidence_age_days: Option<String>,
        #[arg(long, value_parser = choice!(ImplementationStatus))]
        status: Option<ImplementationStatus>,
        /// The revision you based the edit on (`controls show --json` gives it); refused with
        /// `conflict` if someone changed the control since.
        #[arg(long)]
        revision: Option<i64>,
    },
    /// Give a control a new code; its mappings, risk links and history follow it.
    Rename { code: ControlCode, to: ControlCode },
    /// Retire a control: it stays on record but no longer counts.
    Retire { code: ControlCode },
    /// Map a control to a framework requirement (or change the mapping's coverage and rationale).
    Map {
        code: ControlCode,
        framework: FrameworkId,
        requirement: RequirementRef,
        #[arg(long, default_value = "full", value_parser = choice!(Coverage))]
        coverage: Coverage,
        #[arg(long)]
        rationale: String,
    },
    /// Remove a mapping.
    Unmap { code: ControlCode, framework: FrameworkId, requirement: RequirementRef },
    /// Import controls and mappings from a .csv or .xlsx file: all rows, or none.
    Import { file: PathBuf },
    /// Export controls and mappings to a .csv or .xlsx file, in the import layout.
    Export { file: PathBuf },
    /// Write an empty import file with the expected columns and an example row.
    Template { file: PathBuf },
    /// Adopt controls from evident's baseline library, with their mappings.
    AdoptBaseline {
        /// Only these codes (comma-separated); all when left out.
        #[arg(long, value_delimiter = ',')]
        only: Vec<ControlCode>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MethodologyCommand {
    /// The methodology in force: scales, score matrix, levels, acceptance criteria.
    Show,
    /// Every version, oldest first.
    History,
    /// Adopt a new version: a preset (3x3, 4x4, 5x5) or a TOML file. Assessed risks keep theirs.
    Set {
        #[arg(long, conflicts_with = "file", required_unless_present = "file", value_parser = ["3x3", "4x4", "5x5"])]
        preset: Option<String>,
        /// A methodology as TOML: likelihood, impact, optional scores, levels, acceptance_level.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// List assets.
    List,
    /// Create or change an asset.
    Put {
        code: AssetCode,
        #[arg(long)]
        name: String,
        #[arg(long = "type", value_parser = choice!(AssetKind))]
        kind: AssetKind,
        #[arg(long)]
        owner: Option<Email>,
        #[arg(long, default_value = "internal", value_parser = choice!(Classification))]
        classification: Classification,
        /// Confidentiality, integrity and availability value, 1–5 each, as C,I,A.
        #[arg(long, default_value = "3,3,3", value_parser = parse_cia)]
        cia: [u8; 3],
        #[arg(long)]
        parent: Option<AssetCode>,
    },
    /// Import assets from a .csv or .xlsx file: all rows, or none.
    Import { file: PathBuf },
    /// Export assets to a .csv, .xlsx or .md file.
    Export { file: PathBuf },
}

// Parsed once per run: the size of the largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum RisksCommand {
    /// The register: scores, levels, treatment, acceptance.
    List,
    /// Create a risk, assessed with the methodology in force.
    Create {
        code: RiskCode,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Asset code (repeat for several).
        #[arg(long = "asset", required = true)]
        assets: Vec<AssetCode>,
        /// Free text, or a starter-list id such as T-01 (see `evident risks threats`).
        #[arg(long)]
        threat: String,
        /// Free text, or a starter-list id such as V-03.
        #[arg(long)]
        vulnerability: String,
        #[arg(long)]
        owner: Email,
        #[arg(long)]
        likelihood: u8,
        #[arg(long)]
        impact: u8,
        #[arg(long, value_parser = choice!(Treatment))]
        treatment: Treatment,
        /// A control in place that treats the risk (repeat for several).
        #[arg(long = "control")]
        controls: Vec<ControlCode>,
        /// A planned control with its due date, as CODE@YYYY-MM-DD (repeat for several).
        #[arg(long = "planned", value_parser = parse_planned)]
        planned: Vec<(ControlCode, NaiveDate)>,
        #[arg(long)]
        residual_likelihood: u8,
        #[arg(long)]
        residual_impact: u8,
        /// Required when the residual score is above the inherent one.
        #[arg(long, default_value = "")]
        residual_justification: String,
        /// YYYY-MM-DD
        #[arg(long)]
        review: NaiveDate,
    },
    /// Import risks from a .csv or .xlsx file: all rows, or none.
    Import { file: PathBuf },
    /// Export the register to a .csv, .xlsx or .md file.
    Export { file: PathBuf },
    /// Accept a risk's residual level until a date (the risk owner or an administrator).
    Accept {
        code: RiskCode,
        /// YYYY-MM-DD, after today.
        #[arg(long)]
        expires: NaiveDate,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Risks past their review date, expired or missing acceptances, overdue planned controls.
    Due {
        /// The day to check (YYYY-MM-DD); today when left out.
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// The risk treatment plan: each risk with its treating controls, status and due dates.
    TreatmentPlan {
        #[arg(long, default_value = "md", value_parser = ["csv", "xlsx", "md"])]
        format: String,
        /// Where to write it; required for xlsx, standard output otherwise.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Inherent and residual counts per cell of the matrix in force.
    Heatmap,
    /// The starter list of threats and vulnerabilities.
    Threats,
}

/// `CODE@YYYY-MM-DD`: a planned control and its due date.
fn parse_planned(text: &str) -> Result<(ControlCode, NaiveDate), String> {
    let (code, date) = text.split_once('@').ok_or_else(|| format!("{text:?} is not CODE@YYYY-MM-DD"))?;
    let code = ControlCode::parse(code.trim()).map_err(|e| e.to_string())?;
    let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{date:?} is not a date (YYYY-MM-DD)"))?;
    Ok((code, date))
}

/// `C,I,A`: three values from 1 to 5.
fn parse_cia(text: &str) -> Result<[u8; 3], String> {
    let values: Vec<u8> = text
        .split(',')
        .map(|v| v.trim().parse::<u8>().ok().filter(|v| (1..=5).contains(v)))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("{text:?} is not three values from 1 to 5 (write it as C,I,A, e.g. 4,4,3)"))?;
    <[u8; 3]>::try_from(values).map_err(|_| format!("{text:?} needs three values, as C,I,A"))
}
