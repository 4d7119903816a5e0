//! W2: an incremental sync of 1000 changed server records, then a sync with nothing to do.

use std::fmt::Write as _;
use std::time::Duration;

use crate::report::{median, ms};
use crate::steps::{summary_count, sync};
use crate::testkit::fixtures::SERVER_ORG;
use crate::testkit::launch::Process;
use crate::W2_CHANGES;

/// `reps` rounds on a client holding the server's `n` records; gives the medians of the
/// execution times of the 1000-change and of the idle syncs.
pub async fn w2(server: &Process, client: &Process, n: usize, reps: usize) -> (Duration, Duration) {
    let mut changes = Vec::new();
    let mut idle = Vec::new();
    for rep in 0..reps {
        server.batch(SERVER_ORG, changes_body(n, rep)).await;
        let changed = sync(client).await;
        assert_eq!(
            summary_count(&changed.job, "Updated"),
            W2_CHANGES as i64,
            "{}",
            changed.job
        );
        let nothing = sync(client).await;
        let touched: i64 = ["Created", "Updated", "Deleted"]
            .iter()
            .map(|k| summary_count(&nothing.job, k))
            .sum();
        assert_eq!(touched, 0, "{}", nothing.job);
        println!(
            "W2 round {}: {W2_CHANGES} changes synced in {:.1} ms (wall {:.1} ms); \
             idle sync {:.1} ms (wall {:.1} ms)",
            rep + 1,
            ms(changed.exec),
            ms(changed.wall),
            ms(nothing.exec),
            ms(nothing.wall)
        );
        changes.push(changed.exec);
        idle.push(nothing.exec);
    }
    (median(changes), median(idle))
}

/// Round `rep`'s batch: 1000 records spread over the `n`, each with new employees and a new
/// description.
fn changes_body(n: usize, rep: usize) -> String {
    let step = n / W2_CHANGES;
    let mut body = String::from(r#"{"Operations":["#);
    for k in 0..W2_CHANGES {
        let i = k * step + (rep * 7 + 1) % step.max(1);
        if k > 0 {
            body.push(',');
        }
        write!(
            body,
            r#"{{"Op":"Upsert","Entity":"account","Id":"acc-{i:07}","Attributes":{{"numberofemployees":{},"description":"Changed in round {rep}: quarterly review done, renewal pending."}}}}"#,
            1000 + rep * 10 + k % 10
        )
        .unwrap();
    }
    body.push_str("]}");
    body
}
