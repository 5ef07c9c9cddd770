//! Every flag and subcommand, defined once. `evident --help` is the manual.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// The organisation to act in (its slug); optional when there is only one.
    #[arg(long, global = true, env = "EVIDENT_ORG")]
    pub org: Option<String>,
    /// Act as this member (e-mail); defaults to the organisation's first administrator.
    #[arg(long = "as", global = true, env = "EVIDENT_USER", value_name = "EMAIL")]
    pub acting_as: Option<String>,
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
    /// Organisations on this installation.
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Members of the organisation and their roles.
    #[command(subcommand)]
    Members(MembersCommand),
    /// The framework library: list, show, adopt.
    #[command(subcommand)]
    Frameworks(FrameworksCommand),
    /// The organisation's controls and their mappings.
    #[command(subcommand)]
    Controls(ControlsCommand),
    /// Walk every organisation's audit-log hash chain; fails naming the first tampered record.
    Verify,
    /// How ready the organisation is for each adopted framework, with a drill-down for one.
    Readiness {
        /// Show one framework in detail: groups, categories and every requirement with its reason.
        #[arg(long)]
        framework: Option<String>,
    },
    /// What a target framework adds to what the organisation has for another, and what reaches it.
    Gap {
        /// The framework the organisation already works to (e.g. soc2:2017).
        #[arg(long)]
        from: String,
        /// The framework it is moving to (e.g. iso27001:2022).
        #[arg(long)]
        to: String,
        /// Accept the suggestions for this target requirement: map the suggested controls to it.
        #[arg(long, value_name = "REF")]
        accept: Vec<String>,
        /// Accept every suggestion.
        #[arg(long, conflicts_with = "accept")]
        accept_all: bool,
    },
    /// Links between the requirements of two frameworks.
    #[command(subcommand)]
    Crosswalk(CrosswalkCommand),
    /// The Statement of Applicability of ISO/IEC 27001:2022 Annex A.
    #[command(subcommand)]
    Soa(SoaCommand),
    /// The risk methodology: likelihood × impact matrix, risk levels and acceptance criteria.
    #[command(subcommand)]
    Methodology(MethodologyCommand),
    /// Assets the risk register protects.
    #[command(subcommand)]
    Assets(AssetsCommand),
    /// The risk register, its treatment plan, acceptances and heat map.
    #[command(subcommand)]
    Risks(RisksCommand),
    /// Measure evident's engines on a synthetic organisation.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum CrosswalkCommand {
    /// List every link from one framework to another: from, to, relationship, strength, rationale.
    Show {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SoaCommand {
    /// The current SoA: applicability, justification, implementation, implementing controls.
    Show,
    /// Record a decision on one Annex A control.
    Set {
        /// The Annex A control, e.g. A.7.1.
        reference: String,
        /// Exclude the control (needs --reason and --justification).
        #[arg(long)]
        exclude: bool,
        /// Reasons: risk_treatment, legal, regulatory, contractual, business_need.
        #[arg(long = "reason", value_delimiter = ',')]
        reasons: Vec<String>,
        #[arg(long, default_value = "")]
        justification: String,
    },
    /// Approve the current SoA as the next immutable version.
    Approve,
    /// List approved versions.
    Versions,
    /// What changed between two versions (a number, or `draft` for the current SoA).
    Diff {
        from: String,
        #[arg(default_value = "draft")]
        to: String,
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
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also create an organisation with this slug (lowercase letters, digits, '-').
    #[arg(long = "create-org", value_name = "SLUG", requires = "admin")]
    pub create_org: Option<String>,
    /// The organisation's display name (defaults to the slug).
    #[arg(long)]
    pub name: Option<String>,
    /// E-mail of the organisation's first administrator.
    #[arg(long, value_name = "EMAIL")]
    pub admin: Option<String>,
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
        slug: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_name = "EMAIL")]
        admin: String,
        #[arg(long, value_name = "NAME")]
        admin_name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// List members and roles.
    List,
    /// Add a member with a role: admin, compliance_manager, control_owner, auditor, viewer.
    Add {
        email: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FrameworksCommand {
    /// List the frameworks in the library, and which the organisation has adopted.
    List,
    /// Show a framework and every requirement (`--json`: ref, title, parent, kind, description, attributes).
    Show { id: String },
    /// Adopt a framework for the organisation, with its scope.
    Adopt {
        id: String,
        /// Scope categories (SOC 2: security, availability, processing_integrity, confidentiality, privacy).
        #[arg(long, value_delimiter = ',')]
        categories: Vec<String>,
        /// Systems, sites and boundaries in scope.
        #[arg(long, default_value = "")]
        scope: String,
        /// Target date for readiness (YYYY-MM-DD).
        #[arg(long)]
        target: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ControlsCommand {
    /// List controls with owner, frequency, status and mapping count.
    List {
        /// Include retired controls.
        #[arg(long)]
        all: bool,
    },
    /// Show one control and its mappings.
    Show { code: String },
    /// Create a control.
    Create {
        code: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Member e-mail of the owner.
        #[arg(long)]
        owner: Option<String>,
        /// continuous, daily, weekly, monthly, quarterly, semi_annual, annual, event_driven.
        #[arg(long, default_value = "annual")]
        frequency: String,
        /// not_started, in_progress, implemented.
        #[arg(long, default_value = "not_started")]
        status: String,
    },
    /// Change a control's title, description, owner, frequency or status.
    Edit {
        code: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Member e-mail of the owner; `none` clears it.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        frequency: Option<String>,
        #[arg(long)]
        status: Option<String>,
    },
    /// Retire a control: it stays on record but no longer counts.
    Retire { code: String },
    /// Map a control to a framework requirement (or change the mapping's coverage and rationale).
    Map {
        code: String,
        framework: String,
        requirement: String,
        /// full or partial.
        #[arg(long, default_value = "full")]
        coverage: String,
        #[arg(long)]
        rationale: String,
    },
    /// Remove a mapping.
    Unmap { code: String, framework: String, requirement: String },
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
        only: Vec<String>,
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
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
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
        code: String,
        #[arg(long)]
        name: String,
        /// information, software, hardware, service, people, site.
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        owner: Option<String>,
        /// public, internal, confidential, restricted.
        #[arg(long, default_value = "internal")]
        classification: String,
        /// Confidentiality, integrity and availability value, 1–5 each, as C,I,A.
        #[arg(long, default_value = "3,3,3")]
        cia: String,
        #[arg(long)]
        parent: Option<String>,
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
        code: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Asset code (repeat for several).
        #[arg(long = "asset", required = true)]
        assets: Vec<String>,
        /// Free text, or a starter-list id such as T-01 (see `evident risks threats`).
        #[arg(long)]
        threat: String,
        /// Free text, or a starter-list id such as V-03.
        #[arg(long)]
        vulnerability: String,
        #[arg(long)]
        owner: String,
        #[arg(long)]
        likelihood: u8,
        #[arg(long)]
        impact: u8,
        /// modify, retain, avoid, share.
        #[arg(long)]
        treatment: String,
        /// A control in place that treats the risk (repeat for several).
        #[arg(long = "control")]
        controls: Vec<String>,
        /// A planned control with its due date, as CODE@YYYY-MM-DD (repeat for several).
        #[arg(long = "planned")]
        planned: Vec<String>,
        #[arg(long)]
        residual_likelihood: u8,
        #[arg(long)]
        residual_impact: u8,
        /// Required when the residual score is above the inherent one.
        #[arg(long, default_value = "")]
        residual_justification: String,
        /// YYYY-MM-DD
        #[arg(long)]
        review: String,
    },
    /// Import risks from a .csv or .xlsx file: all rows, or none.
    Import { file: PathBuf },
    /// Export the register to a .csv, .xlsx or .md file.
    Export { file: PathBuf },
    /// Accept a risk's residual level until a date (the risk owner or an administrator).
    Accept {
        code: String,
        /// YYYY-MM-DD, after today.
        #[arg(long)]
        expires: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Risks past their review date, expired or missing acceptances, overdue planned controls.
    Due {
        /// The day to check (YYYY-MM-DD); today when left out.
        #[arg(long)]
        on: Option<String>,
    },
    /// The risk treatment plan: each risk with its treating controls, status and due dates.
    TreatmentPlan {
        /// csv, xlsx or md.
        #[arg(long, default_value = "md")]
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
