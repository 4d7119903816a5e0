//! The data: CRM-like `account` records, the same for every run (fixed seed).

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

const SEED: u64 = 0x5eed_2026_1122;

const WORDS: &[&str] = &[
    "account",
    "renewal",
    "pipeline",
    "quarterly",
    "review",
    "partner",
    "logistics",
    "regional",
    "contract",
    "support",
    "escalation",
    "onboarding",
    "migration",
    "invoice",
    "forecast",
    "warehouse",
    "service",
    "premium",
    "strategic",
    "delivery",
    "procurement",
    "customer",
    "northern",
    "southern",
    "eastern",
    "western",
    "manufacturing",
    "retail",
    "wholesale",
    "healthcare",
    "finance",
    "insurance",
    "energy",
    "transport",
    "analytics",
    "platform",
    "integration",
    "licence",
    "upgrade",
    "meeting",
    "follow-up",
    "proposal",
    "discount",
    "volume",
    "pricing",
    "negotiation",
    "opportunity",
    "referral",
    "expansion",
    "portfolio",
];
const NAME_A: &[&str] = &[
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Adventure",
    "Tailspin",
    "Litware",
    "Proseware",
    "Wingtip",
    "Woodgrove",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Fourth Coffee",
    "Lucerne",
];
const NAME_B: &[&str] = &[
    "Traders",
    "Works",
    "Holdings",
    "Systems",
    "Partners",
    "Logistics",
    "Labs",
    "Group",
    "Industries",
];

/// One server record: its id and its attributes as the JSON text orgsync stores.
pub struct Row {
    pub id: String,
    pub attributes: String,
}

/// The N records, the same for every run (fixed seed), ~700 bytes of JSON each.
pub fn generate(n: usize) -> Vec<Row> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let epoch = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let founded0 = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
    (0..n)
        .map(|i| {
            let mut a = Map::new();
            let pick = |rng: &mut StdRng, list: &[&'static str]| list[rng.gen_range(0..list.len())];
            let name = format!("{} {} {i}", pick(&mut rng, NAME_A), pick(&mut rng, NAME_B));
            a.insert("name".into(), json!(name));
            a.insert(
                "emailaddress1".into(),
                json!(format!(
                    "contact{i}@{}.example.com",
                    pick(&mut rng, NAME_A).to_lowercase().replace(' ', "")
                )),
            );
            let target = rng.gen_range(340..420);
            let mut description = String::with_capacity(target + 16);
            while description.len() < target {
                if !description.is_empty() {
                    description.push(' ');
                }
                description.push_str(pick(&mut rng, WORDS));
            }
            description.push('.');
            a.insert("description".into(), json!(description));
            a.insert(
                "numberofemployees".into(),
                json!(rng.gen_range(1..200_000_i64)),
            );
            let cents = rng.gen_range(100_000_i64..50_000_000_000);
            a.insert("revenue".into(), json!(cents as f64 / 100.0));
            a.insert("creditonhold".into(), json!(rng.gen_bool(0.1)));
            let contacted = epoch + chrono::Duration::seconds(rng.gen_range(0..300 * 86_400));
            a.insert(
                "lastcontacted".into(),
                json!(contacted.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
            let founded = founded0 + chrono::Duration::days(rng.gen_range(0..27_000));
            a.insert(
                "founded".into(),
                json!(founded.format("%Y-%m-%d").to_string()),
            );
            let uuid = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
            a.insert("externalid".into(), json!(uuid.hyphenated().to_string()));
            a.insert(
                "statecode".into(),
                json!(if rng.gen_bool(0.2) { 1 } else { 0 }),
            );
            a.insert("industrycode".into(), json!([1, 7, 9][rng.gen_range(0..3)]));
            Row {
                id: format!("acc-{i:07}"),
                attributes: Value::Object(a).to_string(),
            }
        })
        .collect()
}

/// A batch of upserts of `rows` (the JSON body of `POST /rest/v1/orgs/{org}/batch`).
pub fn upsert_body(rows: &[Row]) -> String {
    let mut body = String::with_capacity(rows.len() * 800 + 32);
    body.push_str(r#"{"Operations":["#);
    for (k, r) in rows.iter().enumerate() {
        if k > 0 {
            body.push(',');
        }
        write!(
            body,
            r#"{{"Op":"Upsert","Entity":"account","Id":"{}","Attributes":{}}}"#,
            r.id, r.attributes
        )
        .unwrap();
    }
    body.push_str("]}");
    body
}
