//! Units, and the table of figures against their targets that ends a run.

use std::time::Duration;

use crate::options::Options;
use crate::w3::W3;
use crate::w4::CONNECTIONS;
use crate::w9::{ORGS, RECORDS, W9};
use crate::{SizeResult, W2_CHANGES, W3_TRANSACTIONS};

/// `100k`, `1M`, or the number as it is.
pub fn human(n: usize) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n % 1_000 == 0 {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

pub fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

pub fn print_table(
    opts: &Options,
    results: &[SizeResult],
    w3: Option<&W3>,
    w9: Option<&Result<W9, String>>,
) {
    println!();
    println!("## Results");
    println!();
    println!("| workload | figure | baseline | ratio | target | result |");
    println!("|---|---|---|---|---|---|");
    for r in results {
        let n = human(r.n);
        let s = &r.sqlite;
        let sync_rate = rate(r.n, s.exec);
        let ratio = s.baseline.as_secs_f64() / s.exec.as_secs_f64();
        println!(
            "| W1 SQLite {n}: first sync (~{} B/record; median of {}) | {:.0} records/s ({:.2} s; wall {:.2} s) | raw insert {:.0} rows/s ({:.2} s) | {:.2}× | ≥ 0.4× raw (aim 0.5×) | {} |",
            r.avg_bytes,
            opts.w1_reps,
            sync_rate,
            s.exec.as_secs_f64(),
            s.wall.as_secs_f64(),
            rate(r.n, s.baseline),
            s.baseline.as_secs_f64(),
            ratio,
            verdict(ratio >= 0.4)
        );
        println!(
            "| W1 SQLite {n}: client peak RSS | {:.1} MiB | | | | |",
            mib(s.peak_rss)
        );
        if let Some((changes, idle)) = r.w2 {
            println!(
                "| W2 {n}: sync of {W2_CHANGES} changes (median of {}) | {:.1} ms | | | ≤ 100 ms | {} |",
                opts.w2_reps,
                ms(changes),
                verdict(changes <= Duration::from_millis(100))
            );
            println!(
                "| W2 {n}: sync with no changes (median of {}) | {:.1} ms | | | ≤ 10 ms | {} |",
                opts.w2_reps,
                ms(idle),
                verdict(idle <= Duration::from_millis(10))
            );
        }
        if let Some(w6) = &r.w6 {
            let w1 = rate(r.n, s.exec);
            for (what, exec) in [("Get", w6.get), ("Send", w6.send)] {
                let ratio = rate(r.n, exec) / w1;
                println!(
                    "| W6 SQLite {n}: {what} snapshot | {:.0} records/s ({:.2} s) | W1 {w1:.0} records/s | {ratio:.2}× | ≥ 0.5× W1 | {} |",
                    rate(r.n, exec),
                    exec.as_secs_f64(),
                    verdict(ratio >= 0.5)
                );
            }
        }
        if let Some(w4) = &r.w4 {
            for k in &w4.kinds {
                let (target, what) = if k.write {
                    (5_000.0, "writes")
                } else {
                    (20_000.0, "reads")
                };
                println!(
                    "| W4 {n}: {}, {CONNECTIONS} connections, peak | {:.0} req/s (p99 {:.2} ms, {} errors) | | | {what} ≥ {target:.0} req/s, zero errors | {} |",
                    k.name,
                    k.peak.rate,
                    ms(k.peak.p99),
                    k.peak.errors,
                    verdict(k.peak.rate >= target && k.peak.errors == 0)
                );
                println!(
                    "| W4 {n}: {} at half the peak | {:.0} req/s: p50 {:.2} ms, p99 {:.2} ms, {} errors | | | p99 < 10 ms, zero errors | {} |",
                    k.name,
                    k.half.rate,
                    ms(k.half.p50),
                    ms(k.half.p99),
                    k.half.errors,
                    verdict(k.half.p99 < Duration::from_millis(10) && k.half.errors == 0)
                );
            }
        }
        match &r.postgres {
            Some(Ok(p)) => {
                let ratio = p.baseline.as_secs_f64() / p.exec.as_secs_f64();
                println!(
                    "| W1 PostgreSQL {n}: first sync | {:.0} records/s ({:.2} s; wall {:.2} s) | COPY {:.0} rows/s ({:.2} s) | {ratio:.2}× | ≥ 0.5× COPY | {} |",
                    rate(r.n, p.exec),
                    p.exec.as_secs_f64(),
                    p.wall.as_secs_f64(),
                    rate(r.n, p.baseline),
                    p.baseline.as_secs_f64(),
                    verdict(ratio >= 0.5)
                );
                println!(
                    "| W1 PostgreSQL {n}: client peak RSS | {:.1} MiB | | | | |",
                    mib(p.peak_rss)
                );
            }
            Some(Err(note)) => {
                println!("| W1 PostgreSQL {n} | skipped: {note} | | | ≥ 0.5× COPY | skipped |")
            }
            None => {}
        }
        if let Some(w7) = &r.w7 {
            let bytes = w7.asked + w7.answered;
            let part = bytes as f64 / w7.feed_bytes as f64;
            println!(
                "| W7 {n}: Compare with 10 differences (median of {}) | {:.0} ms; {bytes} bytes on the wire ({} to the server, {} back) | whole feed {:.2} s, {} bytes back | {:.4}× the feed's bytes | ≤ 2 s, ≤ 1 MiB | {} |",
                opts.w2_reps,
                ms(w7.exec),
                w7.asked,
                w7.answered,
                w7.feed.as_secs_f64(),
                w7.feed_bytes,
                part,
                verdict(w7.exec <= Duration::from_secs(2) && bytes <= 1 << 20)
            );
        }
        println!(
            "| Console lists on a {n}-record client: slowest page (median of 5) | {:.1} ms ({}) | | | ≤ 200 ms | {} |",
            ms(r.lists.slowest),
            r.lists.page,
            verdict(r.lists.slowest <= Duration::from_millis(200))
        );
        match &r.w8 {
            Some(Ok(w8)) => {
                let w1 = rate(r.n, s.exec);
                let ratio = rate(r.n, w8.exec) / w1;
                println!(
                    "| W8 {n}: first sync from an external PostgreSQL table (sql provider) | {:.0} records/s ({:.2} s; wall {:.2} s) | W1 SQLite {w1:.0} records/s | {ratio:.2}× | ≥ 0.5× W1 | {} |",
                    rate(r.n, w8.exec),
                    w8.exec.as_secs_f64(),
                    w8.wall.as_secs_f64(),
                    verdict(ratio >= 0.5)
                );
            }
            Some(Err(note)) => println!("| W8 {n} | skipped: {note} | | | ≥ 0.5× W1 | skipped |"),
            None => {}
        }
    }
    if let (Some(small), Some(large)) = (results.first(), results.last()) {
        if large.n > small.n {
            let (a, b) = (human(large.n), human(small.n));
            let rss = large.sqlite.peak_rss as f64 / small.sqlite.peak_rss as f64;
            println!(
                "| W1 client peak RSS {a} / {b} | {:.1} / {:.1} MiB | | {rss:.2}× | ≤ 1.5× | {} |",
                mib(large.sqlite.peak_rss),
                mib(small.sqlite.peak_rss),
                verdict(rss <= 1.5)
            );
            let speed = rate(large.n, large.sqlite.exec) / rate(small.n, small.sqlite.exec);
            println!(
                "| W1 rate {a} / {b} | {:.0} / {:.0} records/s | | {speed:.2}× | ≥ 0.9× | {} |",
                rate(large.n, large.sqlite.exec),
                rate(small.n, small.sqlite.exec),
                verdict(speed >= 0.9)
            );
            if let (Some((lc, li)), Some((sc, si))) = (large.w2, small.w2) {
                let base = lc.as_secs_f64() / sc.as_secs_f64();
                println!(
                    "| W2 {W2_CHANGES}-change sync, base {a} / base {b} | {:.1} / {:.1} ms | | {base:.2}× | ≤ 1.2× | {} |",
                    ms(lc),
                    ms(sc),
                    verdict(base <= 1.2)
                );
                let idle = li.as_secs_f64() / si.as_secs_f64();
                println!(
                    "| W2 idle sync, base {a} / base {b} | {:.1} / {:.1} ms | | {idle:.2}× | ≤ 1.2× | {} |",
                    ms(li),
                    ms(si),
                    verdict(idle <= 1.2)
                );
            }
        }
    }
    if let Some(w3) = w3 {
        let w3_rate = rate(W3_TRANSACTIONS, w3.exec);
        println!(
            "| W3 SQLite: upload of {} offline client transactions in one sync | {w3_rate:.0} transactions/s ({:.2} s; wall {:.2} s) | | | ≥ 30000 transactions/s | {} |",
            human(W3_TRANSACTIONS),
            w3.exec.as_secs_f64(),
            w3.wall.as_secs_f64(),
            verdict(w3_rate >= 30_000.0)
        );
    }
    match w9 {
        Some(Ok(w9)) => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let ratio = w9.two.jobs_per_second() / w9.one.jobs_per_second();
            println!(
                "| W9: {ORGS} orgs of {} records, 1 process on PostgreSQL | {:.1} jobs/s ({:.0} records/s) | | | | |",
                human(RECORDS),
                w9.one.jobs_per_second(),
                w9.one.records_per_second()
            );
            // Two processes can only double the work with cores to run them on.
            let result = if cores >= 4 {
                verdict(ratio >= 1.6)
            } else {
                "reported (2 cores)"
            };
            println!(
                "| W9: the same by 2 processes sharing the database | {:.1} jobs/s ({:.0} records/s) | 1 process | {ratio:.2}× | ≥ 1.6× (on ≥ 4 cores) | {result} |",
                w9.two.jobs_per_second(),
                w9.two.records_per_second()
            );
        }
        Some(Err(note)) => println!("| W9 | skipped: {note} | | | ≥ 1.6× | skipped |"),
        None => {}
    }
    if let (Some(small), Some(large)) = (results.first(), results.last()) {
        if large.n > small.n && (small.n, large.n) != (100_000, 1_000_000) {
            println!();
            println!(
                "(The scaling targets are stated for 1M against 100k; this run compares {} against {}.)",
                human(large.n),
                human(small.n)
            );
        }
    }
}
