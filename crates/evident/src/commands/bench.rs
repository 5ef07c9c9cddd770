//! `evident bench readiness`: the engines on a synthetic organisation, timed.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::Utc;
use evident_core::readiness::{MappingIndex, Scope, readiness};
use evident_core::synthetic::{Size, Synthetic};

use crate::cli::BenchCommand;
use crate::output::say;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let BenchCommand::Readiness { iterations } = command;
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
        let result = readiness(&scopes, &s.controls, &s.mappings);
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
