//! W7: a Compare of N records with 10 differences (3 missing, 3 extra, 4 stale), its time and
//! the bytes both sides sent (counted by a proxy between them), next to reading the server's
//! whole feed through the same proxy. A Repair then puts the client back in step.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::report::{median, ms};
use crate::steps::exec_time;
use crate::testkit::client::{Client, FINISHED};
use crate::testkit::fixtures::{SERVER_ORG, SYNC_PASSWORD};
use crate::testkit::launch::Process;
use crate::testkit::net::Proxy;
use crate::CLIENT_ORG;

pub struct W7 {
    /// Median execution time of the Compare job.
    pub exec: Duration,
    /// Bytes sent through the proxy during one Compare: to the server, and back.
    pub asked: u64,
    pub answered: u64,
    /// Reading the whole feed through the proxy (pages of 2000): its time and bytes back.
    pub feed: Duration,
    pub feed_bytes: u64,
}

/// The 10 differences: 3 records new on the server, 3 deleted there, 4 changed there.
fn plant(n: usize) -> String {
    let at = |k: usize| format!("acc-{:07}", (k * 104_729) % n);
    let mut ops: Vec<Value> = (0..3)
        .map(|k| {
            json!({"Op": "Upsert", "Entity": "account", "Id": format!("w7-new-{k}"),
                   "Attributes": {"name": "New for W7"}})
        })
        .collect();
    ops.extend((1..=3).map(|k| json!({"Op": "Delete", "Entity": "account", "Id": at(k)})));
    ops.extend((4..=7).map(|k| {
        json!({"Op": "Upsert", "Entity": "account", "Id": at(k),
               "Attributes": {"description": "Changed for W7"}})
    }));
    json!({ "Operations": ops }).to_string()
}

async fn compare(client: &Process, request: Value) -> Value {
    let res = client
        .post(&format!("/rest/v1/sync/{CLIENT_ORG}/CompareAsync"))
        .json(&request)
        .send()
        .await
        .expect(StatusCode::ACCEPTED);
    let id = res.json()["JobId"].as_str().unwrap().to_owned();
    client.wait_job(&id, FINISHED, 3600).await
}

async fn point_to(client: &Process, url: &str) {
    client
        .patch(&format!("/rest/v1/sync/{CLIENT_ORG}/connection"))
        .json(&json!({ "Url": url, "Password": SYNC_PASSWORD }))
        .send()
        .await
        .expect(StatusCode::OK);
}

/// The whole feed read through `via`: its time and the bytes the server sent back.
async fn feed(via: &Client, proxy: &Proxy) -> (Duration, u64) {
    let before = proxy.bytes_answered();
    let t = Instant::now();
    let mut since: Option<String> = None;
    loop {
        let mut body = json!({"Entities": ["account"], "Limit": 2000});
        if let Some(s) = &since {
            body["Since"] = json!(s);
        }
        let page = via
            .post(&format!("/rest/v1/orgs/{SERVER_ORG}/changes"))
            .json(&body)
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        since = Some(page["Next"].as_str().unwrap().to_owned());
        if !page["More"].as_bool().unwrap() {
            break;
        }
    }
    (t.elapsed(), proxy.bytes_answered() - before)
}

/// On a client in step with the server's `n` records: plants the differences, compares
/// `reps` times through a proxy, then repairs.
pub async fn w7(server: &Process, client: &Process, server_url: &str, n: usize, reps: usize) -> W7 {
    server.batch(SERVER_ORG, plant(n)).await;
    let proxy = Proxy::start(server.base());
    point_to(client, &proxy.org_url(SERVER_ORG)).await;
    let mut times = Vec::new();
    let (mut asked, mut answered) = (0, 0);
    for rep in 0..reps {
        let (a, b) = (proxy.bytes_asked(), proxy.bytes_answered());
        let job = compare(client, json!({})).await;
        let account = &job["Summary"]["account"];
        assert_eq!(
            (&account["Missing"], &account["Extra"], &account["Stale"]),
            (&json!(3), &json!(3), &json!(4)),
            "W7: {job}"
        );
        (asked, answered) = (proxy.bytes_asked() - a, proxy.bytes_answered() - b);
        let exec = exec_time(&job);
        println!(
            "W7 round {}: Compare of {n} records in {:.1} ms; {asked} bytes to the server, \
             {answered} back",
            rep + 1,
            ms(exec)
        );
        times.push(exec);
    }
    let (feed_time, feed_bytes) = feed(&server.through(&proxy.base()), &proxy).await;
    println!(
        "W7: the whole feed through the same proxy: {:.2} s, {feed_bytes} bytes back",
        feed_time.as_secs_f64()
    );
    let repaired = compare(client, json!({"Repair": true})).await;
    assert_eq!(repaired["Status"], "Completed", "W7 repair: {repaired}");
    point_to(client, server_url).await;
    W7 {
        exec: median(times),
        asked,
        answered,
        feed: feed_time,
        feed_bytes,
    }
}
