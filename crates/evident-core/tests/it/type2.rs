use chrono::NaiveDate;
use evident_core::Frequency;
use evident_core::sampling::SamplingTable;
use evident_core::synthetic::Type2Synthetic;
use evident_core::type2::analyse;

#[test]
fn the_type2_benchmark_input_is_500_daily_controls_over_a_year_and_analyses_the_same_twice() {
    let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let input = Type2Synthetic::generate(42, Type2Synthetic::BENCHMARK_CONTROLS, from).unwrap();
    assert_eq!(input.window.to(), NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
    assert_eq!(input.controls.len(), 500);
    assert!(input.controls.iter().all(|c| c.frequency == Frequency::Daily));

    let table = SamplingTable::preset("frequency").unwrap();
    let analysis = analyse(&input.window, &table, 7, &input.controls);
    assert_eq!(analysis.controls.len(), 500);
    assert!(analysis.controls.iter().all(|c| c.expected == 365 && c.population == 365 && c.sample.len() == 20));
    let missing: usize = analysis.controls.iter().map(|c| c.missing).sum();
    assert!(missing > 0 && missing < 500 * 365 / 10, "about 3 % of days lack evidence: {missing}");
    assert_eq!(analysis, analyse(&input.window, &table, 7, &input.controls), "a pure function of its inputs");
    assert_eq!(analysis.seed, 7);
}
