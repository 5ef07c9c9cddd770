//! `evident evidence …`, `evident freshness` and `evident type2`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use evident_app::evidence::{AddEvidence, EvidenceView, MANIFEST_LAYOUT, MANIFEST_REQUIRED};
use evident_app::type2::{Sampling, Type2Export};
use evident_core::evidence::EvidenceSource;
use evident_core::sampling::SamplingTable;
use futures::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

use crate::cli::{EvidenceCommand, Global, SamplesCommand, Type2Args};
use crate::context::{self, failure};
use crate::output::{json, say, table};
use crate::spreadsheet;

pub async fn run(global: &Global, command: EvidenceCommand) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    if let EvidenceCommand::Gc { grace_hours } = command {
        let grace = chrono::Duration::hours(i64::from(grace_hours));
        let blobs = app.evidence_store()?;
        let collected = evident_app::evidence::collect_garbage(&**app.store(), blobs, app.now(), grace).await?;
        if global.json {
            return json(&collected).map(|()| ExitCode::SUCCESS);
        }
        say!(
            "{} blobs kept (named by a record), {} unreferenced kept (younger than {grace_hours} h), {} removed, {} abandoned uploads removed",
            collected.referenced,
            collected.recent,
            collected.deleted.len(),
            collected.staging_deleted
        );
        return Ok(ExitCode::SUCCESS);
    }
    let me = context::principal(&app, global).await?;
    match command {
        EvidenceCommand::Add { file, controls, effective, period, description, max_size } => {
            let input = AddEvidence {
                file_name: file_name(&file)?,
                controls: controls.into_iter().map(|c| (c, period)).collect(),
                effective,
                description,
                source: EvidenceSource::Upload,
            };
            let view = app.add_evidence(&me, input, open(&file).await?, Some(max_size)).await?;
            show(global, &view, "added")?;
        }
        EvidenceCommand::Supersede { id, file, effective, controls, period, description, max_size } => {
            let input = AddEvidence {
                file_name: file_name(&file)?,
                controls: controls.into_iter().map(|c| (c, period)).collect(),
                effective,
                description,
                source: EvidenceSource::Upload,
            };
            let view = app.supersede_evidence(&me, &id, input, open(&file).await?, Some(max_size)).await?;
            show(global, &view, &format!("supersedes {id}"))?;
        }
        EvidenceCommand::Import { dir, manifest, max_size } => {
            let manifest = spreadsheet::table(&manifest, MANIFEST_LAYOUT, MANIFEST_REQUIRED)?;
            let bar = progress_bar(global);
            let progress = |done: u64, total: u64| {
                if let Some(bar) = &bar {
                    bar.set_length(total);
                    bar.set_position(done);
                }
            };
            let report = app.import_evidence(&me, &dir, &manifest, Some(max_size), &progress).await?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            if global.json {
                json(&report)?;
            } else {
                say!(
                    "{} files ({} bytes): {} recorded, {} already recorded, {} with bytes stored before",
                    report.files,
                    report.bytes,
                    report.recorded,
                    report.unchanged,
                    report.deduplicated
                );
            }
        }
        EvidenceCommand::List { control, all, limit } => {
            let records = app.evidence_list(&me, control.as_ref(), all, limit).await?;
            if global.json {
                return json(&records).map(|()| ExitCode::SUCCESS);
            }
            say!(
                "{}",
                table(
                    ["id", "effective", "controls", "file", "size", "superseded by"],
                    records.iter().map(|r| [
                        r.evidence.id.to_string(),
                        r.evidence.record.effective.to_string(),
                        codes(r),
                        r.evidence.record.file_name.to_string(),
                        r.evidence.record.size.to_string(),
                        r.evidence.superseded_by.as_ref().map(ToString::to_string).unwrap_or_default(),
                    ])
                )
            );
        }
        EvidenceCommand::Gc { .. } => unreachable!("handled above"),
        EvidenceCommand::Show { id } => {
            let view = app.evidence_show(&me, &id).await?;
            show(global, &view, "")?;
        }
        EvidenceCommand::Get { id, output } => {
            let (view, mut stream) = app.evidence_bytes(&me, &id).await?;
            let target = output.unwrap_or_else(|| PathBuf::from(view.evidence.record.file_name.as_str()));
            write_stream(&target, &mut stream).await?;
            say!("{}: {} bytes, sha256 {}", target.display(), view.evidence.record.size, view.evidence.record.digest);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn codes(view: &EvidenceView) -> String {
    view.controls.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
}

fn show(global: &Global, view: &EvidenceView, what: &str) -> anyhow::Result<()> {
    if global.json {
        return json(view);
    }
    let e = &view.evidence;
    let r = &e.record;
    say!("evidence {}{}", e.id, if what.is_empty() { String::new() } else { format!(" {what}") });
    say!("  file:        {} ({}, {} bytes)", r.file_name, r.media_type, r.size);
    say!("  sha256:      {}", r.digest);
    say!("  effective:   {}", r.effective);
    for (code, link) in view.controls.iter().zip(&r.links) {
        let period = link.period.map(|p| format!(" for {p}")).unwrap_or_default();
        say!("  proves:      {code}{period}");
    }
    if !r.description.is_empty() {
        say!("  description: {}", r.description);
    }
    say!("  source:      {}, by {} at {}", r.source, e.uploaded_by, e.uploaded_at.format("%Y-%m-%d %H:%M UTC"));
    if let Some(old) = &r.supersedes {
        say!("  supersedes:  {old}");
    }
    if let Some(by) = &e.superseded_by {
        say!("  superseded by {by}: it no longer counts");
    }
    Ok(())
}

/// The file's own name, as the record keeps it.
fn file_name(path: &Path) -> anyhow::Result<String> {
    path.file_name().and_then(|n| n.to_str()).map(str::to_owned).ok_or_else(|| {
        failure(format!("{}: not a file name evident can keep", path.display()), "rename the file (UTF-8, no path)")
    })
}

async fn open(path: &Path) -> anyhow::Result<tokio::fs::File> {
    let meta =
        tokio::fs::metadata(path).await.map_err(|e| failure(format!("{}: {e}", path.display()), "check the path"))?;
    if !meta.is_file() {
        return Err(failure(
            format!("{} is not a regular file", path.display()),
            "name a file, not a folder or device",
        ));
    }
    tokio::fs::File::open(path).await.map_err(|e| failure(format!("{}: {e}", path.display()), "check the permissions"))
}

/// Writes a verified stream to a temporary file beside `target`, renamed into place only when
/// every byte arrived and matched its digest: a failure never leaves a half-written file.
async fn write_stream(target: &Path, stream: &mut evident_evidence::BlobStream) -> anyhow::Result<()> {
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let failed = |e: &dyn std::fmt::Display| {
        failure(format!("{}: {e}", target.display()), "check the folder exists, is writable and has space")
    };
    let temp = tempfile::NamedTempFile::new_in(&folder).map_err(|e| failed(&e))?;
    let mut file = tokio::fs::File::from_std(temp.reopen().map_err(|e| failed(&e))?);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(evident_app::AppError::from)?;
        file.write_all(&chunk).await.map_err(|e| failed(&e))?;
    }
    file.sync_all().await.map_err(|e| failed(&e))?;
    temp.persist(target).map_err(|e| failed(&e.error))?;
    Ok(())
}

fn progress_bar(global: &Global) -> Option<indicatif::ProgressBar> {
    if global.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}") {
        bar.set_style(style);
    }
    Some(bar)
}

pub async fn freshness(global: &Global, days: u32) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    let me = context::principal(&app, global).await?;
    let report = app.freshness(&me, days).await?;
    if global.json {
        return json(&report).map(|()| ExitCode::SUCCESS);
    }
    let counts: Vec<String> = report.counts.iter().map(|(state, n)| format!("{n} {state}")).collect();
    say!("freshness on {}: {}", report.today, counts.join(", "));
    say!(
        "{}",
        table(
            ["control", "frequency", "state", "last evidence", "next due"],
            report.controls.iter().filter(|c| c.state != evident_core::freshness::State::Fresh).map(|c| [
                c.code.to_string(),
                cadence(c.frequency, c.max_age),
                c.state.to_string(),
                c.last_effective.map(|d| d.to_string()).unwrap_or_else(|| "never".into()),
                c.next_due.map(|d| d.to_string()).unwrap_or_default(),
            ])
        )
    );
    say!("");
    say!("due in the next {} days:", report.days);
    say!(
        "{}",
        table(
            ["due", "control", "frequency", "state", "then"],
            report.calendar.iter().map(|e| [
                e.due.map(|d| d.to_string()).unwrap_or_else(|| "now".into()),
                e.code.to_string(),
                cadence(e.frequency, e.max_age),
                e.state.to_string(),
                e.recurs
                    .as_ref()
                    .map(|r| format!("{}, {} more until {}", r.every, r.more, r.until))
                    .unwrap_or_default(),
            ])
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// A control's frequency, and its own limit on the age of its evidence when it has one, which is
/// what sets its due dates then.
fn cadence(frequency: evident_core::Frequency, max_age: Option<evident_core::freshness::MaxAge>) -> String {
    match max_age {
        Some(age) => format!("{frequency}, max age {age}"),
        None => frequency.to_string(),
    }
}

pub async fn type2(global: &Global, args: Type2Args) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    let me = context::principal(&app, global).await?;
    let sampling = if args.preset.ends_with(".toml") {
        let text = std::fs::read_to_string(&args.preset)
            .map_err(|e| failure(format!("{}: {e}", args.preset), "name a TOML sampling table, or a preset"))?;
        let table: SamplingTable = toml::from_str(&text)
            .map_err(|e| failure(format!("{}: {e}", args.preset), "see `evident type2 --help` for the format"))?;
        Sampling::Own(table)
    } else {
        Sampling::Preset(args.preset.clone())
    };
    let analysis = app.type2(&me, &args.framework, args.from, args.to, sampling, args.seed).await?;
    for (path, what) in [(&args.population, Type2Export::Population), (&args.sample, Type2Export::Sample)] {
        if let Some(path) = path {
            let record = app.export_type2(&me, &analysis, &args.framework, what, path)?;
            if !global.json {
                say!(
                    "{}: {} rows, sha256 {} (record: {})",
                    path.display(),
                    record.rows,
                    record.sha256,
                    evident_app::type2::ca_path(path).display()
                );
            }
        }
    }
    let recorded = match args.record {
        true => Some(app.record_sample(&me, &args.framework, &analysis).await?),
        false => None,
    };
    if global.json {
        // The analysis as it is, with the recorded sample's id beside its fields when there is one.
        let mut value = serde_json::to_value(&analysis)?;
        if let (Some(id), Some(fields)) = (&recorded, value.as_object_mut()) {
            fields.insert("sample_id".into(), serde_json::json!(id));
        }
        return json(&value).map(|()| ExitCode::SUCCESS);
    }
    if let Some(id) = &recorded {
        say!(
            "recorded as sample {id}: record exceptions with `evident samples exception {id} --control CODE --occurrence FROM..TO --note TEXT`"
        );
    }
    say!(
        "Type 2 window {} to {}, sampling table {}, seed {} (give --seed {} to draw the same sample)",
        analysis.window.from(),
        analysis.window.to(),
        analysis.table,
        analysis.seed,
        analysis.seed
    );
    say!(
        "{}",
        table(
            ["control", "frequency", "expected", "evidenced", "missing", "population", "sample", "exceptions"],
            analysis.controls.iter().map(|c| [
                c.code.to_string(),
                c.frequency.to_string(),
                c.expected.to_string(),
                c.evidenced.to_string(),
                c.missing.to_string(),
                c.population.to_string(),
                c.sample_size.to_string(),
                c.sample.iter().filter(|s| !s.evidenced).count().to_string(),
            ])
        )
    );
    for control in analysis.controls.iter().filter(|c| !c.missing_periods.is_empty()) {
        let missing: Vec<String> = control.missing_periods.iter().map(|m| m.period.to_string()).collect();
        say!("{} has no evidence for {}", control.code, missing.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn samples(global: &Global, command: SamplesCommand) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    let me = context::principal(&app, global).await?;
    match command {
        SamplesCommand::List => {
            let samples = app.samples(&me).await?;
            if global.json {
                return json(&samples).map(|()| ExitCode::SUCCESS);
            }
            let controls = app.controls(&me, true).await?;
            let code = |id: &evident_core::ControlId| {
                controls.iter().find(|c| &c.control.id == id).map_or(id.to_string(), |c| c.control.code.to_string())
            };
            for s in &samples {
                say!(
                    "sample {}: {} {}, table {}, seed {}, {} occurrences, drawn by {} on {}",
                    s.id,
                    s.sample.framework,
                    s.sample.window,
                    s.sample.table,
                    s.sample.seed,
                    s.sample.items.len(),
                    s.recorded_by,
                    s.recorded_at.format("%Y-%m-%d")
                );
                for e in &s.exceptions {
                    say!("  exception: control {} for {}: {}", code(&e.control), e.occurrence, e.note);
                }
            }
            if samples.is_empty() {
                say!("no sample recorded yet: `evident type2 --from … --to … --record`");
            }
        }
        SamplesCommand::Exception { sample, control, occurrence, note } => {
            app.record_exception(&me, &sample, &control, occurrence, &note).await?;
            say!("exception recorded against sample {sample}: {control} for {occurrence}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
