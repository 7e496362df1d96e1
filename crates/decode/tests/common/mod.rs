//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// The golden vectors live next to the workspace (/work/main -> /work/shared/vectors). A git
/// worktree sits one level deeper (/work/wt/NAME), so the nearest ancestor holding
/// `shared/vectors` is used rather than a fixed number of `..`.
pub fn vectors_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared/vectors"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| manifest.join("../../../shared/vectors"))
}

/// Loads one vector file. A missing file fails the test: golden tests must never pass by
/// finding nothing to check.
pub fn load(file: &str) -> Json {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "golden vectors missing: cannot read {} ({error}); the shared/ directory must sit \
             next to the workspace root",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display()))
}

/// Loads a vector file of this crate's own, from `tests/vectors/` (vectors taken from
/// published reference test suites; each file names its source).
pub fn load_local(file: &str) -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {} ({error})", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display()))
}

/// Hex to bytes; whitespace is ignored so tables can group bytes by field.
pub fn hex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..digits.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&digits[at..at + 2], 16).expect("hex digit"))
        .collect()
}

/// Half a unit in the last decimal the reference printed. The generators are Python, whose
/// float repr is the shortest round-trip form, as Rust's `{}` is, so the digits match; a
/// Python float always prints at least one decimal, an int none.
pub fn tolerance(expected: &Json) -> f64 {
    if !expected.is_f64() {
        return 0.5;
    }
    let printed = format!("{}", expected.as_f64().expect("f64"));
    let decimals = printed.split('.').nth(1).map_or(0, str::len).max(1);
    0.5 * 10f64.powi(-(decimals as i32))
}

/// Float noise on top of the tolerance, so a value exactly half a unit away still passes.
pub fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance * (1.0 + 1e-9) + 1e-12
}

/// Counts what a golden test did with each vector, so it cannot pass vacuously.
#[derive(Default)]
pub struct Tally {
    /// Decoded and every value compared.
    pub compared: usize,
    /// The reference produced nothing and we returned an error or no readings.
    pub errors_agreed: usize,
    /// Mismatches on vectors whose notes/disagreements say either behaviour is acceptable.
    pub tolerated: Vec<String>,
    /// Vectors deliberately not checked, with the reason.
    pub skipped: Vec<String>,
    pub failures: Vec<String>,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.compared + self.errors_agreed + self.tolerated.len() + self.skipped.len()
    }

    /// Records the outcome of one vector: `Ok` when it matched, `Err(why)` when not.
    pub fn record(&mut self, vector: &Json, outcome: Result<Outcome, String>) {
        let name = vector["name"].as_str().unwrap_or("?").to_owned();
        match outcome {
            Ok(Outcome::Compared) => self.compared += 1,
            Ok(Outcome::ErrorAgreed) => self.errors_agreed += 1,
            Ok(Outcome::Skipped(reason)) => self.skipped.push(format!("{name}: {reason}")),
            Err(why) if either_is_acceptable(vector) => {
                self.tolerated.push(format!("{name}: {why}"))
            }
            Err(why) => self.failures.push(format!("{name}: {why}")),
        }
    }

    /// As [`Tally::record`], but a mismatch is a failure even when the vector has notes: for
    /// files whose notes explain how a vector was made rather than where references disagree.
    pub fn record_strict(&mut self, vector: &Json, outcome: Result<Outcome, String>) {
        match outcome {
            Err(why) => {
                let name = vector["name"].as_str().unwrap_or("?");
                self.failures.push(format!("{name}: {why}"));
            }
            ok => self.record(vector, ok),
        }
    }

    /// Prints the counts and fails on any mismatch or on fewer checks than `min_checked`.
    pub fn finish(&self, file: &str, vectors: usize, min_checked: usize) {
        println!(
            "{file}: {vectors} vectors: {} compared, {} expected errors agreed, {} tolerated, {} skipped, {} failed",
            self.compared,
            self.errors_agreed,
            self.tolerated.len(),
            self.skipped.len(),
            self.failures.len()
        );
        for line in &self.tolerated {
            println!("  tolerated (either behaviour acceptable): {line}");
        }
        for line in &self.skipped {
            println!("  skipped: {line}");
        }
        assert!(
            self.failures.is_empty(),
            "{file}: {} vectors failed:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert_eq!(
            self.total(),
            vectors,
            "{file}: every vector must be accounted for"
        );
        let checked = self.compared + self.errors_agreed;
        assert!(
            checked >= min_checked,
            "{file}: only {checked} vectors checked, expected at least {min_checked}"
        );
    }
}

pub enum Outcome {
    Compared,
    ErrorAgreed,
    Skipped(&'static str),
}

/// The vectors README: a vector with notes or disagreements is "either behaviour is
/// acceptable".
pub fn either_is_acceptable(vector: &Json) -> bool {
    let present = |key: &str| match &vector[key] {
        Json::Null => false,
        Json::String(text) => !text.is_empty(),
        Json::Array(items) => !items.is_empty(),
        _ => true,
    };
    present("notes") || present("disagreements")
}

/// Every strict prefix of `bytes`, shortest first.
pub fn prefixes(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    (0..bytes.len()).map(move |len| &bytes[..len])
}

/// A tiny xorshift64* generator: deterministic garbage without a crate.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

pub mod cases;
