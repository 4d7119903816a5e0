//! The admin console's lists on a client org holding N records: each page it reads (100 rows,
//! or the first page of the records), timed over HTTP as the console asks for it. The figure is
//! the slowest page's median.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::report::{median, ms};
use crate::testkit::launch::Process;
use crate::CLIENT_ORG;

/// Requests per page.
const REPS: usize = 5;

pub struct Lists {
    /// The slowest page's median, and which page it was.
    pub slowest: Duration,
    pub page: String,
}

pub async fn lists(client: &Process) -> Lists {
    let jobs = client
        .get("/rest/v1/jobs?Limit=1")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let job = jobs["Jobs"][0]["JobId"]
        .as_str()
        .unwrap_or("none")
        .to_owned();
    let pages = [
        "/rest/v1/sync/connections".to_owned(),
        format!("/rest/v1/sync/{CLIENT_ORG}/connection"),
        format!("/rest/v1/sync/{CLIENT_ORG}/links"),
        "/rest/v1/jobs?Limit=100".to_owned(),
        format!("/rest/v1/jobs/{job}/log?Limit=100"),
        format!("/rest/v1/jobs/{job}/quarantine"),
        format!("/rest/v1/sync/{CLIENT_ORG}/transactions?Limit=100"),
        format!("/rest/v1/sync/{CLIENT_ORG}/transactions/counts"),
        format!("/rest/v1/sync/{CLIENT_ORG}/conflicts?Limit=100"),
        format!("/rest/v1/sync/{CLIENT_ORG}/snapshots"),
        format!("/rest/v1/orgs/{CLIENT_ORG}/entities/account/records?Limit=100"),
    ];
    let mut slowest = (Duration::ZERO, String::new());
    for page in pages {
        let mut times = Vec::with_capacity(REPS);
        for _ in 0..REPS {
            let t = Instant::now();
            client.get(&page).send().await.expect(StatusCode::OK);
            times.push(t.elapsed());
        }
        let m = median(times);
        println!("console list {page}: {:.1} ms (median of {REPS})", ms(m));
        if m > slowest.0 {
            slowest = (m, page);
        }
    }
    Lists {
        slowest: slowest.0,
        page: slowest.1,
    }
}
