//! The NAB scorer of the `nab` example, checked on small synthetic files: the normalisation's
//! fixed points (no detections 0, a detection at each window's start 100), a hand-computed
//! false positive and the probationary period.

#[path = "../examples/nab/score.rs"]
mod score;

use score::{parse_ts, probation, scaled_sigmoid, score_file, FileScore, Profile, PROFILES};

/// `n` rows one minute apart.
fn minutes(n: usize) -> Vec<i64> {
    (0..n as i64).map(|i| 1_000_000 + i * 60_000).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// A file: its rows' timestamps and its windows (start, end).
type File = (Vec<i64>, Vec<(i64, i64)>);

/// Two files: 200 rows with windows over rows 100..=119 and 160..=179, and 1000 rows with one
/// window over rows 400..=499.
fn corpus() -> Vec<File> {
    let a = minutes(200);
    let b = minutes(1000);
    let wa = vec![(a[100], a[119]), (a[160], a[179])];
    let wb = vec![(b[400], b[499])];
    vec![(a, wa), (b, wb)]
}

fn total(detections: &[Vec<usize>], profile: &Profile) -> FileScore {
    let mut sum = FileScore::default();
    for ((ts, windows), d) in corpus().iter().zip(detections) {
        sum.add(&score_file(ts, windows, d, profile));
    }
    sum
}

#[test]
fn no_detections_score_zero_and_window_starts_score_one_hundred() {
    for p in &PROFILES {
        let none = total(&[vec![], vec![]], p);
        assert!(close(none.normalised(), 0.0), "{p:?}");
        assert_eq!((none.missed, none.true_positives), (3, 0));
        let perfect = total(&[vec![100, 160], vec![400]], p);
        assert!(close(perfect.normalised(), 100.0), "{p:?}");
        assert_eq!((perfect.true_positives, perfect.false_positives), (3, 0));
    }
}

#[test]
fn only_the_earliest_detection_of_a_window_counts() {
    let once = total(&[vec![100, 160], vec![400]], &PROFILES[0]);
    let twice = total(&[vec![100, 110, 160, 179], vec![400, 450]], &PROFILES[0]);
    assert!(close(once.score, twice.score));
    assert_eq!(twice.detections, 6);
    assert_eq!(twice.true_positives, 3);
    assert_eq!(twice.false_positives, 0);
}

#[test]
fn a_late_detection_and_false_positives_by_hand() {
    let ts = minutes(200);
    let windows = vec![(ts[100], ts[119])];
    let std = &PROFILES[0];
    // Row 110 in the window (W = 20, R = 119): position -(119 - 110 + 1) / 20 = -0.5, scaled
    // by the left edge's score: (2 / (1 + e^-2.5) - 1) / (2 / (1 + e^-5) - 1).
    let tp = (2.0 / (1.0 + (-2.5f64).exp()) - 1.0) / (2.0 / (1.0 + (-5.0f64).exp()) - 1.0);
    // Row 50, before any window: -1 x 0.11. Row 129, 10 rows past the window: position
    // 10 / 19, 2 / (1 + e^(50/19)) - 1, x 0.11.
    let fp_before = -0.11;
    let fp_after = 0.11 * (2.0 / (1.0 + (50.0f64 / 19.0).exp()) - 1.0);
    let got = score_file(&ts, &windows, &[50, 110, 129], std);
    assert!(close(got.score, tp + fp_before + fp_after), "{got:?}");
    assert_eq!(
        (got.true_positives, got.false_positives, got.missed),
        (1, 2, 0)
    );
    assert!(close(got.null, -1.0) && close(got.perfect, 1.0));
    // reward_low_FP_rate doubles what a false positive costs.
    let low_fp = score_file(&ts, &windows, &[50, 110, 129], &PROFILES[1]);
    assert!(close(low_fp.score, tp + 2.0 * (fp_before + fp_after)));
    // Far past the window the cost is the whole A_FP.
    assert!(close(scaled_sigmoid(3.0), -1.0));
    // 100 x (S - S_null) / (S_perfect - S_null).
    assert!(close(got.normalised(), 100.0 * (got.score + 1.0) / 2.0));
}

#[test]
fn detections_in_the_probationary_period_are_ignored() {
    // 15 % of 200 rows: rows 0..30; and at most 750 rows however long the file.
    assert_eq!(probation(200), 30);
    assert_eq!(probation(22_696), 750);
    let ts = minutes(200);
    let windows = vec![(ts[100], ts[119])];
    let std = &PROFILES[0];
    let early = score_file(&ts, &windows, &[0, 10, 29], std);
    assert_eq!((early.detections, early.false_positives), (0, 0));
    assert!(close(early.score, -1.0));
    let just_after = score_file(&ts, &windows, &[30], std);
    assert_eq!(just_after.false_positives, 1);
    assert!(close(just_after.score, -1.0 - 0.11));
    // The miss costs A_FN: 2 under reward_low_FN_rate.
    assert!(close(
        score_file(&ts, &windows, &[], &PROFILES[2]).score,
        -2.0
    ));
}

#[test]
fn timestamps_parse_as_naive_utc() {
    assert_eq!(parse_ts("1970-01-01 00:00:00"), Some(0));
    assert_eq!(
        parse_ts("2014-02-19 10:50:00.000000"),
        parse_ts("2014-02-19 10:50:00")
    );
    assert_eq!(parse_ts("2014-02-19 10:50:00"), Some(1_392_807_000_000));
    assert_eq!(parse_ts("2000-03-01 00:00:01.5"), Some(951_868_801_500));
    assert_eq!(parse_ts("not a time"), None);
}
