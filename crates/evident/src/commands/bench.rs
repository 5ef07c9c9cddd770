//! `evident bench readiness`: the engines on a synthetic organisation, timed; `bench store`: the
//! whole process on a real database; `bench evidence`: the evidence figures (`bench/evidence.rs`).

mod evidence;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::Utc;
use evident_app::Library;
use evident_app::imports::{Table, TableRow};
use evident_core::freshness::Freshness;
use evident_core::readiness::{MappingIndex, ReadinessInput, Scope, readiness};
use evident_core::synthetic::{Size, Synthetic};
use evident_core::{Email, FrameworkId, OrgSlug};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::cli::{BenchCommand, Global};
use crate::output::say;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub async fn run(global: &Global, command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Readiness { iterations } => engines(iterations),
        BenchCommand::Store { controls, mappings, runs, keep } => store(global, controls, mappings, runs, keep).await,
        BenchCommand::Evidence { size, jobs, records, runs, keep, skip_ingest, one_big_file } => {
            if let Some(size) = one_big_file {
                return evidence::one_big_file(size).await;
            }
            let options = evidence::Options { size, jobs, records, runs, keep, skip_ingest };
            evidence::run(global, options).await
        }
    }
}

fn engines(iterations: usize) -> anyhow::Result<ExitCode> {
    let iterations = iterations.max(1);
    let size = Size::BENCHMARK;
    let s = Synthetic::generate(42, size, Utc::now());
    let requirements: usize = s.frameworks.iter().map(|f| f.leaves().count()).sum();
    say!(
        "synthetic organisation: {} frameworks, {requirements} requirements, {} controls, {} mappings, {} crosswalk links",
        s.frameworks.len(),
        s.controls.len(),
        s.mappings.len(),
        s.crosswalk.links.len()
    );
    let excluded = HashMap::new();
    let scopes: Vec<_> =
        s.frameworks.iter().map(|f| Scope { framework: f, categories: &[], excluded: &excluded }).collect();

    let mut full = Vec::with_capacity(iterations);
    let mut percent = 0.0;
    for _ in 0..iterations {
        let start = Instant::now();
        let input = ReadinessInput {
            scopes: &scopes,
            controls: &s.controls,
            mappings: &s.mappings,
            freshness: &Freshness::none(),
        };
        let result = readiness(&input);
        full.push(start.elapsed());
        percent = result.overall.percent;
    }
    let target = &s.frameworks[1];
    let mut gaps = Vec::with_capacity(iterations);
    let mut uncovered = 0;
    for _ in 0..iterations {
        let start = Instant::now();
        // A gap delta recomputes the target's readiness from scratch, as the CLI does.
        let index = MappingIndex::new(&s.controls, &s.mappings);
        let statuses = evident_core::readiness::framework_readiness(scopes[1], &index).requirements;
        let gap = evident_core::gap::gap(s.frameworks[0].id(), target, &statuses, &s.crosswalk.links, &index);
        gaps.push(start.elapsed());
        uncovered = gap.uncovered.len() + gap.unreached.len();
    }
    let (full_median, gap_median) = (median(full.clone()), median(gaps.clone()));
    say!(
        "full readiness recompute: median {:.2} ms, max {:.2} ms over {iterations} runs (overall {percent:.1}%)",
        full_median.as_secs_f64() * 1e3,
        full.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    say!(
        "gap delta {} → {}: median {:.2} ms, max {:.2} ms over {iterations} runs ({uncovered} requirements not covered)",
        s.frameworks[0].id(),
        target.id(),
        gap_median.as_secs_f64() * 1e3,
        gaps.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    let target_ms = 50.0;
    let verdict = |d: Duration| if d.as_secs_f64() * 1e3 < target_ms { "meets" } else { "MISSES" };
    say!("target < {target_ms} ms each: readiness {}, gap {}", verdict(full_median), verdict(gap_median));
    Ok(ExitCode::SUCCESS)
}

/// A controls import of `controls` controls and `mappings` mappings over ISO 27001:2022 and SOC 2.
fn synthetic_import(library: &Library, controls: usize, mappings: usize) -> anyhow::Result<Table> {
    let mut leaves = Vec::new();
    for id in ["iso27001:2022", "soc2:2017"] {
        let framework = library.framework(&FrameworkId::parse(id)?)?;
        leaves.extend(framework.leaves().map(|r| (id, r.reference.to_string())));
    }
    let per_control = mappings.div_ceil(controls.max(1)).min(leaves.len());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut rows = Vec::with_capacity(mappings);
    for i in 0..controls {
        let code = format!("C-{i:04}");
        let mut chosen = leaves.clone();
        chosen.shuffle(&mut rng);
        let count = per_control.min(mappings.saturating_sub(i * per_control));
        for (n, (framework, requirement)) in chosen.into_iter().take(count.max(1)).enumerate() {
            let first = n == 0;
            let cell = |text: String| if first { text } else { String::new() };
            rows.push(TableRow {
                number: rows.len() + 2,
                cells: vec![
                    code.clone(),
                    cell(format!("Synthetic control {i}")),
                    cell("Generated for the benchmark.".to_owned()),
                    String::new(),
                    cell(["monthly", "quarterly", "annual"][i % 3].to_owned()),
                    cell(["implemented", "in_progress", "not_started"][i % 3].to_owned()),
                    framework.to_owned(),
                    requirement,
                    ["full", "partial"][rng.random_range(0..2)].to_owned(),
                    "Generated mapping.".to_owned(),
                ],
            });
        }
    }
    Ok(Table { file: "synthetic.csv".to_owned(), rows })
}

/// Creates the organisation `slug`, adopts ISO 27001:2022 and SOC 2, and imports `controls`
/// controls with `mappings` mappings ([`synthetic_import`]); says how long the import took.
async fn seed_organisation(
    app: &evident_app::App,
    global: &Global,
    slug: &OrgSlug,
    controls: usize,
    mappings: usize,
) -> anyhow::Result<evident_app::Principal> {
    let admin = Email::parse("bench@bench.example")?;
    app.create_organisation(slug.clone(), Some("Benchmark".into()), admin, None).await?;
    let me = app.operator(Some(slug), "bench", None).await?;
    for id in ["iso27001:2022", "soc2:2017"] {
        app.adopt(&me, &FrameworkId::parse(id)?, &[], String::new(), None).await?;
    }
    let table = synthetic_import(app.library(), controls, mappings)?;
    let start = Instant::now();
    let report = app.import_controls(&me, &table).await?;
    let import = start.elapsed();
    say!(
        "seeded {slug}: {} controls and {} mappings from a {}-row import in {:.2} s ({})",
        report.created,
        report.mappings,
        table.rows.len(),
        import.as_secs_f64(),
        backend_name(global)
    );
    Ok(me)
}

fn backend_name(global: &Global) -> &'static str {
    if global.database_url.is_some() { "postgresql" } else { "sqlite" }
}

/// The flags that make a child `evident` act in `slug` of the same database.
fn process_flags(global: &Global, slug: &OrgSlug) -> Vec<String> {
    let mut base = vec!["--org".to_owned(), slug.to_string()];
    match &global.database_url {
        Some(url) => base.extend(["--database-url".to_owned(), url.clone()]),
        None => base.extend(["--data-dir".to_owned(), global.data_dir.display().to_string()]),
    }
    base
}

/// Milliseconds of `runs` runs of the real binary with `args`: median, min, max.
fn time_process(base: &[String], args: &[&str], runs: usize) -> anyhow::Result<(f64, f64, f64)> {
    let exe = std::env::current_exe()?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let output = std::process::Command::new(&exe).args(base).args(args).output()?;
        samples.push(start.elapsed());
        anyhow::ensure!(
            output.status.success(),
            "`evident {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok((
        ms(median(samples.clone())),
        ms(*samples.iter().min().unwrap_or(&Duration::ZERO)),
        ms(*samples.iter().max().unwrap_or(&Duration::ZERO)),
    ))
}

async fn store(global: &Global, controls: usize, mappings: usize, runs: usize, keep: bool) -> anyhow::Result<ExitCode> {
    let temp = tempfile::tempdir()?;
    let global = match &global.database_url {
        Some(_) => global.clone(),
        None if keep => global.clone(),
        None => Global { data_dir: temp.path().join("data"), ..global.clone() },
    };
    let app = crate::context::app(&global).await?;
    let slug = OrgSlug::parse(&format!("bench-{}", std::process::id()))?;
    seed_organisation(&app, &global, &slug, controls, mappings).await?;
    let base = process_flags(&global, &slug);
    // Each read twice: computed from the records (`--recompute`: the first read after a change),
    // and as every later read until the next change is served (the stored model).
    for (args, target) in [
        (&["readiness", "--json", "--recompute"][..], None),
        (&["readiness", "--json"][..], Some(30.0)),
        (&["controls", "list", "--json", "--recompute"][..], None),
        (&["controls", "list", "--json"][..], Some(50.0)),
        (&["--version"][..], None),
    ] {
        let (median, min, max) = time_process(&base, args, runs)?;
        let verdict = match target {
            Some(target) => format!(", target < {target} ms: {}", if median < target { "meets" } else { "MISSES" }),
            None if args.contains(&"--recompute") => " (computed from the records)".to_owned(),
            None => " (process start)".to_owned(),
        };
        say!(
            "evident {}: median {median:.1} ms, min {min:.1} ms, max {max:.1} ms over {runs} runs{verdict}",
            args.join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
