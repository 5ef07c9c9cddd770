//! How many items of a population an auditor samples, and which: a table the organisation picks
//! (audit firms differ), and a draw that is the same on every machine for the same seed.
//!
//! A [`SamplingTable`] sizes a sample by the control's frequency, by the population's size, or
//! both (the frequency first, the population bands for any frequency the table does not list),
//! with its own rule for event-driven controls. Built-in presets, picked by name:
//!
//! - `frequency`: the usual frequency table at the low end of each range: annual 1, semi-annual 1,
//!   quarterly 2, monthly 2, weekly 5, daily 20, continuous ("many times a day") 25;
//! - `frequency-high`: the same table at the high end: annual 1, semi-annual 2, quarterly 2,
//!   monthly 5, weekly 15, daily 40, continuous 60;
//! - `population`: by the population's size alone: up to 5, all of them; 6 to 50, 5; 51 to 250,
//!   10 % rounded up; over 250, 25.
//!
//! In all three an event-driven control's sample is 10 % of its population rounded up, at least 3
//! and at most 30. Whatever the table says, a sample never exceeds its population.
//!
//! An organisation's own table is TOML (or JSON) of the same shape, checked as it is read:
//!
//! ```toml
//! name = "acme-2026"
//! [frequency]            # optional: sizes per frequency
//! annual = 1
//! monthly = 3
//! [[population]]         # optional: bands by population size, the last one open-ended
//! up_to = 5
//! sample = "all"         # "all", a number, or a percentage of the population ("10%")
//! [[population]]
//! sample = 10
//! [event_driven]         # optional: percent of the population, between min and max
//! percent = 10
//! min = 3
//! max = 30
//! ```
//!
//! **The draw.** The sample of a control is drawn from a ChaCha8 stream keyed by
//! `SHA-256("evident-sample-v1" ‖ 0x00 ‖ seed as 8 bytes big-endian ‖ the control's id in UTF-8)`:
//! a partial Fisher–Yates shuffle of the positions `0..population`, where step `i` swaps position
//! `i` with `i + ⌊x · (population − i) / 2⁶⁴⌋` for the stream's next 64-bit word `x`; the first
//! `size` positions, sorted, are the sample. Only SHA-256 and the ChaCha8 keystream are involved, so
//! the same seed gives the same sample on every machine and every version of this derivation (a
//! test pins one). Each control has its own stream, so adding a control changes no other sample.

use std::collections::BTreeMap;
use std::fmt;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::control::Frequency;
use crate::ids::ControlId;

/// How much of a population band to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleRule {
    /// Every item.
    All,
    /// This many items.
    Count(u32),
    /// This percentage of the population, rounded up.
    Percent(u32),
}

impl SampleRule {
    fn size(self, population: usize) -> usize {
        match self {
            SampleRule::All => population,
            SampleRule::Count(n) => n as usize,
            SampleRule::Percent(p) => percent_of(population, p),
        }
    }
}

/// `percent` % of `population`, rounded up.
fn percent_of(population: usize, percent: u32) -> usize {
    (population * percent as usize).div_ceil(100)
}

impl fmt::Display for SampleRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SampleRule::All => f.write_str("all"),
            SampleRule::Count(n) => write!(f, "{n}"),
            SampleRule::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for SampleRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SampleRule::Count(n) => serializer.serialize_u32(*n),
            other => serializer.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for SampleRule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u32),
            Text(String),
        }
        let expected = || serde::de::Error::custom("a sample is \"all\", a number, or a percentage such as \"10%\"");
        match Raw::deserialize(deserializer)? {
            Raw::Count(n) => Ok(SampleRule::Count(n)),
            Raw::Text(text) if text.trim() == "all" => Ok(SampleRule::All),
            Raw::Text(text) => text
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse().ok())
                .map(SampleRule::Percent)
                .ok_or_else(expected),
        }
    }
}

/// Populations up to `up_to` items (every larger one when `None`) get `sample`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationBand {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<u32>,
    pub sample: SampleRule,
}

/// An event-driven control's sample: a percentage of its population, rounded up, within bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDrivenRule {
    pub percent: u32,
    pub min: u32,
    pub max: u32,
}

/// A table of sample sizes, checked: every frequency has a size (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTable", into = "RawTable")]
pub struct SamplingTable {
    name: String,
    frequency: BTreeMap<Frequency, u32>,
    population: Vec<PopulationBand>,
    event_driven: Option<EventDrivenRule>,
}

/// A table as written, before it is checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub frequency: BTreeMap<Frequency, u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub population: Vec<PopulationBand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_driven: Option<EventDrivenRule>,
}

/// Why a sampling table is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    #[error("there is no sampling preset {name:?}; choose one of: {known}")]
    UnknownPreset { name: String, known: String },
    #[error("a sampling table needs a name")]
    NoName,
    #[error("the {frequency} sample size is 0; sample at least 1")]
    ZeroSample { frequency: Frequency },
    #[error("population band {band}: {problem}")]
    Band { band: usize, problem: &'static str },
    #[error("event-driven sampling: {0}")]
    EventDriven(&'static str),
    #[error("the table gives no sample size for {frequency} controls: list it, or add population bands")]
    Uncovered { frequency: Frequency },
}

/// The names of the built-in presets.
pub const PRESETS: &[&str] = &["frequency", "frequency-high", "population"];

/// The event-driven rule every preset shares: 10 %, at least 3, at most 30.
const EVENT_DRIVEN: EventDrivenRule = EventDrivenRule { percent: 10, min: 3, max: 30 };

impl SamplingTable {
    /// A checked table.
    pub fn new(raw: RawTable) -> Result<Self, SamplingError> {
        let name = raw.name.trim().to_owned();
        if name.is_empty() {
            return Err(SamplingError::NoName);
        }
        if let Some((frequency, _)) = raw.frequency.iter().find(|(_, size)| **size == 0) {
            return Err(SamplingError::ZeroSample { frequency: *frequency });
        }
        let last = raw.population.len().saturating_sub(1);
        let mut previous = None;
        for (i, band) in raw.population.iter().enumerate() {
            let problem = |problem| SamplingError::Band { band: i + 1, problem };
            match (band.up_to, i == last) {
                (None, false) => return Err(problem("only the last band may leave out up_to")),
                (Some(_), true) => {
                    return Err(problem("the last band must leave out up_to, to cover every population"));
                }
                (Some(up_to), false) if previous.is_some_and(|p| up_to <= p) => {
                    return Err(problem("up_to must grow from one band to the next"));
                }
                _ => previous = band.up_to,
            }
            match band.sample {
                SampleRule::Count(0) => return Err(problem("a sample of 0 items; sample at least 1")),
                SampleRule::Percent(p) if !(1..=100).contains(&p) => {
                    return Err(problem("a percentage is 1% to 100%"));
                }
                _ => {}
            }
        }
        if let Some(rule) = raw.event_driven {
            if !(1..=100).contains(&rule.percent) {
                return Err(SamplingError::EventDriven("the percentage is 1 to 100"));
            }
            if rule.min == 0 || rule.min > rule.max {
                return Err(SamplingError::EventDriven("min is at least 1 and at most max"));
            }
        }
        for frequency in Frequency::ALL {
            let sized = raw.frequency.contains_key(frequency)
                || (*frequency == Frequency::EventDriven && raw.event_driven.is_some())
                || !raw.population.is_empty();
            if !sized {
                return Err(SamplingError::Uncovered { frequency: *frequency });
            }
        }
        Ok(Self { name, frequency: raw.frequency, population: raw.population, event_driven: raw.event_driven })
    }

    /// A built-in preset by name (see [`PRESETS`]).
    pub fn preset(name: &str) -> Result<Self, SamplingError> {
        use Frequency::*;
        let sizes = |sizes: [u32; 7]| {
            [Annual, SemiAnnual, Quarterly, Monthly, Weekly, Daily, Continuous].into_iter().zip(sizes).collect()
        };
        let raw = match name {
            "frequency" => RawTable {
                name: name.to_owned(),
                frequency: sizes([1, 1, 2, 2, 5, 20, 25]),
                population: Vec::new(),
                event_driven: Some(EVENT_DRIVEN),
            },
            "frequency-high" => RawTable {
                name: name.to_owned(),
                frequency: sizes([1, 2, 2, 5, 15, 40, 60]),
                population: Vec::new(),
                event_driven: Some(EVENT_DRIVEN),
            },
            "population" => RawTable {
                name: name.to_owned(),
                frequency: BTreeMap::new(),
                population: vec![
                    PopulationBand { up_to: Some(5), sample: SampleRule::All },
                    PopulationBand { up_to: Some(50), sample: SampleRule::Count(5) },
                    PopulationBand { up_to: Some(250), sample: SampleRule::Percent(10) },
                    PopulationBand { up_to: None, sample: SampleRule::Count(25) },
                ],
                event_driven: Some(EVENT_DRIVEN),
            },
            _ => return Err(SamplingError::UnknownPreset { name: name.to_owned(), known: PRESETS.join(", ") }),
        };
        Self::new(raw)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many of `population` items of a control of `frequency` to sample; never more than the
    /// population.
    pub fn size(&self, frequency: Frequency, population: usize) -> usize {
        let size = match (frequency, self.event_driven) {
            (Frequency::EventDriven, Some(rule)) => {
                percent_of(population, rule.percent).clamp(rule.min as usize, rule.max as usize)
            }
            _ => match self.frequency.get(&frequency) {
                Some(size) => *size as usize,
                None => self.band(population).map_or(population, |b| b.sample.size(population)),
            },
        };
        size.min(population)
    }

    fn band(&self, population: usize) -> Option<&PopulationBand> {
        self.population.iter().find(|b| b.up_to.is_none_or(|up_to| population <= up_to as usize))
    }
}

impl TryFrom<RawTable> for SamplingTable {
    type Error = SamplingError;
    fn try_from(raw: RawTable) -> Result<Self, Self::Error> {
        Self::new(raw)
    }
}

impl From<SamplingTable> for RawTable {
    fn from(table: SamplingTable) -> RawTable {
        RawTable {
            name: table.name,
            frequency: table.frequency,
            population: table.population,
            event_driven: table.event_driven,
        }
    }
}

/// The positions (0-based, ascending) of a sample of `size` out of `population` items of
/// `control`, drawn under `seed` (see the module's documentation for the derivation).
pub fn draw(seed: u64, control: &ControlId, population: usize, size: usize) -> Vec<usize> {
    let size = size.min(population);
    if size == population {
        return (0..population).collect();
    }
    let mut key = Sha256::new();
    key.update(b"evident-sample-v1\0");
    key.update(seed.to_be_bytes());
    key.update(control.as_str().as_bytes());
    let mut rng = ChaCha8Rng::from_seed(key.finalize().into());
    let mut positions: Vec<usize> = (0..population).collect();
    for i in 0..size {
        let remaining = (population - i) as u128;
        let offset = ((u128::from(rng.next_u64()) * remaining) >> 64) as usize;
        positions.swap(i, i + offset);
    }
    positions.truncate(size);
    positions.sort_unstable();
    positions
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(text: &str) -> ControlId {
        ControlId::parse(text).unwrap()
    }

    #[test]
    fn the_population_table_tests_all_up_to_5_then_5_then_10_percent_rounded_up_then_25() {
        let table = SamplingTable::preset("population").unwrap();
        let size = |n| table.size(Frequency::Daily, n);
        assert_eq!([size(0), size(1), size(5)], [0, 1, 5], "up to 5: all");
        assert_eq!([size(6), size(50)], [5, 5]);
        assert_eq!([size(51), size(100), size(250)], [6, 10, 25], "10 %, rounded up");
        assert_eq!([size(251), size(10_000)], [25, 25]);
    }

    #[test]
    fn the_frequency_presets_give_the_low_and_high_ends_and_never_more_than_the_population() {
        let low = SamplingTable::preset("frequency").unwrap();
        let high = SamplingTable::preset("frequency-high").unwrap();
        let sizes = |t: &SamplingTable| {
            [Frequency::Annual, Frequency::Quarterly, Frequency::Monthly, Frequency::Weekly, Frequency::Daily]
                .map(|f| t.size(f, 1_000))
        };
        assert_eq!(sizes(&low), [1, 2, 2, 5, 20]);
        assert_eq!(sizes(&high), [1, 2, 5, 15, 40]);
        assert_eq!((low.size(Frequency::Continuous, 1_000), high.size(Frequency::Continuous, 1_000)), (25, 60));
        assert_eq!(high.size(Frequency::Monthly, 3), 3, "a three-month window has three monthly occurrences");
        assert_eq!(low.size(Frequency::Daily, 0), 0);
    }

    #[test]
    fn event_driven_samples_are_10_percent_at_least_3_at_most_30() {
        for preset in PRESETS {
            let table = SamplingTable::preset(preset).unwrap();
            let size = |n| table.size(Frequency::EventDriven, n);
            assert_eq!([size(2), size(10), size(31), size(45), size(300), size(1_000)], [2, 3, 4, 5, 30, 30]);
        }
    }

    #[test]
    fn an_unknown_preset_is_refused_with_the_known_ones() {
        let refused = SamplingTable::preset("big4").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "there is no sampling preset \"big4\"; choose one of: frequency, frequency-high, population"
        );
    }

    #[test]
    fn an_organisations_own_table_reads_from_toml_and_is_checked() {
        let table: SamplingTable = toml::from_str(
            r#"
            name = "acme-2026"
            [frequency]
            monthly = 3
            daily = 25
            [[population]]
            up_to = 5
            sample = "all"
            [[population]]
            up_to = 100
            sample = "20%"
            [[population]]
            sample = 30
            "#,
        )
        .unwrap();
        assert_eq!(table.name(), "acme-2026");
        assert_eq!(table.size(Frequency::Monthly, 12), 3);
        assert_eq!(table.size(Frequency::Weekly, 52), 11, "not listed: 20 % of 52, rounded up");
        assert_eq!(table.size(Frequency::EventDriven, 4), 4, "no event rule: the bands");
        assert_eq!(table.size(Frequency::Annual, 500), 30);

        let refused = |text: &str| toml::from_str::<SamplingTable>(text).unwrap_err().to_string();
        let partial = refused("name = \"x\"\n[frequency]\nannual = 1");
        assert!(partial.contains("the table gives no sample size for continuous controls"), "{partial}");
        let open_middle = "name = \"x\"\n[[population]]\nsample = 1\n[[population]]\nup_to = 9\nsample = 2";
        assert!(refused(open_middle).contains("population band 1: only the last band may leave out up_to"));
        let shrinking = "name = \"x\"\n[[population]]\nup_to = 9\nsample = 1\n[[population]]\nup_to = 5\nsample = 2\n[[population]]\nsample = 3";
        assert!(refused(shrinking).contains("population band 2: up_to must grow"));
        assert!(refused("name = \"x\"\n[[population]]\nsample = \"ten\"").contains("a percentage such as"));
        assert!(refused("name = \"x\"\n[[population]]\nsample = \"0%\"").contains("1% to 100%"));
        let backwards = "name = \"x\"\n[[population]]\nsample = 1\n[event_driven]\npercent = 10\nmin = 5\nmax = 3";
        assert!(refused(backwards).contains("min is at least 1 and at most max"));
        assert!(refused("name = \" \"\n[[population]]\nsample = 1").contains("needs a name"));

        let round_trip: SamplingTable = toml::from_str(&toml::to_string(&table).unwrap()).unwrap();
        assert_eq!(round_trip, table);
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_on_every_machine() {
        // Pinned: a change here changes every recorded sample.
        assert_eq!(draw(42, &id("c-0001"), 365, 5), [228, 233, 303, 319, 332]);
        assert_eq!(draw(42, &id("c-0001"), 365, 25), draw(42, &id("c-0001"), 365, 25));
        assert_ne!(draw(42, &id("c-0001"), 365, 25), draw(42, &id("c-0002"), 365, 25), "each control its own draw");
        assert_eq!(draw(7, &id("c-0001"), 4, 9), [0, 1, 2, 3], "a sample never exceeds its population");
    }

    proptest! {
        #[test]
        fn a_sample_is_sorted_distinct_within_the_population_and_of_the_size_asked(
            seed in any::<u64>(), population in 0usize..2_000, size in 0usize..80,
        ) {
            let sample = draw(seed, &id("c-1"), population, size);
            prop_assert_eq!(sample.len(), size.min(population));
            prop_assert!(sample.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(sample.iter().all(|p| *p < population));
        }

        #[test]
        fn different_seeds_typically_draw_different_samples(seed in any::<u64>()) {
            let draws: Vec<_> = (0..8).map(|k| draw(seed.wrapping_add(k), &id("c-1"), 365, 20)).collect();
            prop_assert!(draws.iter().skip(1).any(|d| *d != draws[0]), "eight seeds, one sample");
        }

        #[test]
        fn no_table_samples_more_than_the_population(population in 0usize..5_000, preset in prop::sample::select(PRESETS)) {
            let table = SamplingTable::preset(preset).unwrap();
            for frequency in Frequency::ALL {
                prop_assert!(table.size(*frequency, population) <= population);
            }
        }
    }
}
