//! The command line and the environment of the benchmark.

use std::path::PathBuf;

use crate::report::human;
use crate::W2_CHANGES;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct Options {
    pub sizes: Vec<usize>,
    /// The size W1 on PostgreSQL runs at (None: skipped).
    pub postgres_size: Option<usize>,
    pub postgres_url: String,
    pub w2_reps: usize,
    /// W1 on SQLite, and its raw baseline, run this many times; the medians are the figures.
    pub w1_reps: usize,
    pub binary: PathBuf,
    /// Workloads left out (`w2`, `w3`, `w4`, `w6`, `w7`, `w8`, `w9`): W1 always runs, the others build on it.
    pub skip: Vec<String>,
}

impl Options {
    pub fn parse() -> Self {
        let mut sizes = std::env::var("ORGSYNC_BENCH_SIZES")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_sizes(&s));
        let mut postgres_size = std::env::var("ORGSYNC_BENCH_POSTGRES_SIZE")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_size(&s));
        let mut no_postgres = false;
        let mut w2_reps = 3;
        let mut w1_reps = 3;
        let mut skip = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // cargo bench passes --bench to a harness-less bench.
                "--bench" => {}
                "--quick" => sizes = Some(vec![10_000, 100_000]),
                "--sizes" => sizes = Some(parse_sizes(&args.next().expect("--sizes LIST"))),
                "--postgres-size" => {
                    postgres_size = Some(parse_size(&args.next().expect("--postgres-size N")))
                }
                "--no-postgres" => no_postgres = true,
                "--skip" => {
                    skip = parse_skip(&args.next().expect("--skip LIST"));
                }
                "--w2-reps" => {
                    w2_reps = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .expect("--w2-reps N")
                }
                "--w1-reps" => {
                    w1_reps = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .expect("--w1-reps N")
                }
                "-h" | "--help" => {
                    println!(
                        "bench/run.sh [--quick] [--sizes 100k,1M] [--postgres-size N] \
                         [--no-postgres] [--w1-reps N] [--w2-reps N] [--skip w2,w3,w4,w6,w7,w8,w9]\n\
                         env: ORGSYNC_BENCH_SIZES, ORGSYNC_BENCH_POSTGRES_URL \
                         (default {DEFAULT_POSTGRES_URL}), ORGSYNC_BENCH_POSTGRES_SIZE, \
                         ORGSYNC_BENCH_BIN"
                    );
                    std::process::exit(0);
                }
                other => panic!("unknown argument '{other}' (try --help)"),
            }
        }
        let mut sizes = sizes.unwrap_or_else(|| vec![100_000, 1_000_000]);
        sizes.sort_unstable();
        sizes.dedup();
        assert!(
            sizes.iter().all(|n| *n >= W2_CHANGES),
            "each size must be at least {W2_CHANGES}"
        );
        let postgres_size = if no_postgres {
            None
        } else {
            Some(postgres_size.unwrap_or_else(|| {
                if sizes.contains(&100_000) {
                    100_000
                } else {
                    sizes[0]
                }
            }))
        };
        if let Some(p) = postgres_size {
            assert!(
                sizes.contains(&p),
                "the PostgreSQL size {p} must be one of the sizes"
            );
        }
        let binary = std::env::var("ORGSYNC_BENCH_BIN")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map_or_else(
                || PathBuf::from(env!("CARGO_BIN_EXE_orgsync")),
                PathBuf::from,
            );
        Self {
            sizes,
            postgres_size,
            postgres_url: std::env::var("ORGSYNC_BENCH_POSTGRES_URL")
                .ok()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned()),
            w2_reps: w2_reps.max(1),
            w1_reps: w1_reps.max(1),
            binary,
            skip,
        }
    }

    /// Whether workload `name` (`w2`, `w3`, …) is measured in this run.
    pub fn runs(&self, name: &str) -> bool {
        !self.skip.iter().any(|s| s == name)
    }

    /// The line saying what this run measures.
    pub fn describe(&self) -> String {
        format!(
            "sizes: {}; PostgreSQL W1 at: {}; W1 repetitions: {}; W2 repetitions: {}; skipped: {}; \
             binary: {}",
            self.sizes
                .iter()
                .map(|n| human(*n))
                .collect::<Vec<_>>()
                .join(", "),
            self.postgres_size.map_or("skipped".to_owned(), human),
            self.w1_reps,
            self.w2_reps,
            if self.skip.is_empty() {
                "none".to_owned()
            } else {
                self.skip.join(", ")
            },
            self.binary.display()
        )
    }
}

/// The workloads `--skip` may leave out.
const SKIPPABLE: [&str; 7] = ["w2", "w3", "w4", "w6", "w7", "w8", "w9"];

fn parse_skip(text: &str) -> Vec<String> {
    let skip: Vec<String> = text
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for s in &skip {
        assert!(
            SKIPPABLE.contains(&s.as_str()),
            "--skip takes {} ('{s}' is not one; W1 always runs, --no-postgres leaves out W5)",
            SKIPPABLE.join(", ")
        );
    }
    skip
}

fn parse_sizes(text: &str) -> Vec<usize> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_size)
        .collect()
}

/// `100000`, `100k`, `1M`, `1_000_000`.
fn parse_size(text: &str) -> usize {
    let t = text.trim().replace('_', "");
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1_000),
        Some('m' | 'M') => (&t[..t.len() - 1], 1_000_000),
        _ => (t.as_str(), 1),
    };
    num.parse::<usize>()
        .unwrap_or_else(|_| panic!("'{text}' is not a size"))
        * mult
}
