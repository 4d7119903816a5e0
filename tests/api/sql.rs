//! The sql provider end to end: a client org kept in step with the tables of an external
//! database (a SQLite file, or a fresh schema on the test PostgreSQL), both ways.

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::compare::{compare_in, counts as compared};
use crate::testkit::digest::digest;
use crate::testkit::launch::{Launch, TestApp};

/// An external database with a CRM's tables, removed when the test ends.
enum External {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        url: String,
        schema: String,
    },
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

const CRM: &str = "
    CREATE TABLE account (
        accountid text PRIMARY KEY,
        name varchar(100) NOT NULL,
        revenue numeric(19,4),
        active boolean NOT NULL DEFAULT true,
        updated_at timestamptz,
        logo BINARY
    );
    CREATE TABLE contact (
        contactid integer PRIMARY KEY,
        fullname text NOT NULL,
        accountid text REFERENCES account (accountid),
        email varchar(200) UNIQUE
    );
";

impl External {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.db");
        let db = Self::Sqlite { _dir: dir, path };
        db.exec(&CRM.replace("BINARY", "blob"));
        db
    }

    fn postgres() -> Self {
        let url = std::env::var("ORGSYNC_TEST_POSTGRES_URL").unwrap();
        let schema = format!("crm_{}", uuid::Uuid::new_v4().simple());
        let db = Self::Postgres { url, schema };
        let Self::Postgres { schema, .. } = &db else {
            unreachable!()
        };
        db.exec(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema}; {}",
            CRM.replace("BINARY", "bytea")
        ));
        db
    }

    /// The `Url` a connection gives for it.
    fn url(&self) -> String {
        match self {
            Self::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            Self::Postgres { url, schema } => {
                let address = url.trim_start_matches("postgres://");
                let address = address.split_once('@').map_or(address, |(_, a)| a);
                format!("postgres://{address}?schema={schema}")
            }
        }
    }

    /// The user a connection signs in as.
    fn user(&self) -> String {
        match self {
            Self::Sqlite { .. } => "none".to_owned(),
            Self::Postgres { url, .. } => url
                .trim_start_matches("postgres://")
                .split_once('@')
                .map_or("postgres", |(u, _)| {
                    u.split(':').next().unwrap_or("postgres")
                })
                .to_owned(),
        }
    }

    fn postgres_conn(url: &str, schema: &str) -> PgConnection {
        let mut conn = PgConnection::establish(url).unwrap();
        conn.batch_execute(&format!("SET search_path TO {schema}"))
            .unwrap();
        conn
    }

    /// Runs plain SQL on it, as its own applications would, then waits until the change log
    /// can be read up to it ([`External::settle`]).
    fn exec(&self, sql: &str) {
        self.exec_unsettled(sql);
        self.settle();
    }

    /// On PostgreSQL, waits until every transaction that began before now has ended. Any
    /// open transaction on the cluster (another test's) holds the change log's reader back
    /// while it runs: the reader waits, it never skips, so a test expecting a change read by
    /// the next sync waits too. SQLite's writers are serialized: nothing to wait for.
    fn settle(&self) {
        let Self::Postgres { url, .. } = self else {
            return;
        };
        let mut conn = PgConnection::establish(url).unwrap();
        let mut xid = |sql: &str| -> i64 {
            sql_query(format!("SELECT ({sql})::text::bigint AS n"))
                .get_result::<Count>(&mut conn)
                .unwrap()
                .n
        };
        let marker = xid("pg_current_xact_id()");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while xid("pg_snapshot_xmin(pg_current_snapshot())") <= marker {
            assert!(
                std::time::Instant::now() < deadline,
                "a transaction stayed open"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Runs plain SQL on it without waiting for the change log's reader.
    fn exec_unsettled(&self, sql: &str) {
        match self {
            Self::Sqlite { path, .. } => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
                conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
                conn.batch_execute(sql).unwrap();
            }
            Self::Postgres { url, schema } => {
                let mut conn = PgConnection::establish(url).unwrap();
                conn.batch_execute(&format!("SET search_path TO {schema}"))
                    .unwrap_or(());
                conn.batch_execute(sql).unwrap();
            }
        }
    }

    /// One text per row of `sql` (which selects a column named `row`).
    fn rows(&self, sql: &str) -> Vec<String> {
        let rows: Vec<Row> = match self {
            Self::Sqlite { path, .. } => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
                sql_query(sql).load(&mut conn).unwrap()
            }
            Self::Postgres { url, schema } => sql_query(sql)
                .load(&mut Self::postgres_conn(url, schema))
                .unwrap(),
        };
        rows.into_iter().map(|r| r.row).collect()
    }

    /// How many objects named orgsync… (tables, triggers, functions) the database holds.
    fn orgsync_objects(&self) -> i64 {
        let n: Count = match self {
            Self::Sqlite { path, .. } => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
                sql_query("SELECT count(*) AS n FROM sqlite_schema WHERE name LIKE 'orgsync%'")
                    .get_result(&mut conn)
                    .unwrap()
            }
            Self::Postgres { url, schema } => sql_query(
                "SELECT ((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                          WHERE n.nspname = $1 AND c.relname LIKE 'orgsync%') \
                       + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                          WHERE n.nspname = $1 AND p.proname LIKE 'orgsync%') \
                       + (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                          JOIN pg_namespace n ON n.oid = c.relnamespace \
                          WHERE n.nspname = $1 AND t.tgname LIKE 'orgsync%'))::bigint AS n",
            )
            .bind::<Text, _>(schema)
            .get_result(&mut PgConnection::establish(url).unwrap())
            .unwrap(),
        };
        n.n
    }

    /// The revenue seeded on account a1: every digit of a numeric(19,4) where the database
    /// keeps them (SQLite keeps fifteen).
    fn revenue(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "1234567.8912",
            Self::Postgres { .. } => "90071992547409.9999",
        }
    }
}

impl Drop for External {
    fn drop(&mut self) {
        if let Self::Postgres { url, schema } = self {
            if let Ok(mut conn) = PgConnection::establish(url) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn setup(db: &External, consent: bool) -> Value {
    json!({
        "ProviderID": "sql",
        "Url": db.url(),
        "UserName": db.user(),
        "Password": "unused-by-trust-auth",
        "InstallChangeCapture": consent,
        "WriteOffline": true,
    })
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The entity's summary in a finished job.
fn counts(job: &Value, entity: &str) -> (u64, u64, u64) {
    let s = &job["Summary"][entity];
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    (n("Created"), n("Updated"), n("Deleted"))
}

async fn a_database_is_kept_in_step_both_ways(app: TestApp, db: External) {
    db.exec(&format!(
        "INSERT INTO account (accountid, name, revenue, updated_at) VALUES \
           ('a1', 'Contoso', {}, '2026-01-05T10:00:00Z'), ('a2', 'Fabrikam', NULL, NULL), \
           ('a3', 'Northwind', NULL, NULL); \
         INSERT INTO contact VALUES (1, 'Ada', 'a1', 'ada@contoso.example'), (2, 'Bob', 'a2', NULL);",
        db.revenue()
    ));

    // Without consent nothing is created, and the job says what would be.
    let id = app.connect_async("crm", "", setup(&db, false)).await;
    let job = app.wait_job(&id, &["Failed", "Completed"], 30).await;
    assert_eq!(job["Status"], "Failed", "{job}");
    assert_eq!(
        job["Error"]["Code"], "change_capture_not_installed",
        "{job}"
    );
    assert!(
        job["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("orgsync_change_log"),
        "{job}"
    );
    assert_eq!(db.orgsync_objects(), 0, "nothing made without consent");

    // With it: one entity per keyed table, the foreign key a Lookup, the blob column left out
    // and said.
    let id = app.connect_async("crm", "", setup(&db, true)).await;
    let job = app.wait_job(&id, &["Failed", "Completed"], 30).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let connection = app
        .get("/rest/v1/sync/crm/connection")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(connection["InstallChangeCapture"], true, "{connection}");
    let log = app.job_log(&id).await;
    assert!(
        log.iter()
            .any(|e| e["Action"] == "LeftOut"
                && e["Message"].as_str().unwrap().contains("account.logo")),
        "{log:?}"
    );
    let metadata = app
        .get("/rest/v1/orgs/crm/metadata")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let contact = metadata["Entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Name"] == "contact")
        .unwrap();
    let lookup = contact["Attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "accountid")
        .unwrap();
    assert_eq!(
        (&lookup["Type"], &lookup["Target"]),
        (&json!("Lookup"), &json!("account"))
    );

    // The first sync makes the client equal to the tables.
    let job = app.sync("crm", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let accounts = parsed(&format!(
        r#"{{"a1": {{"name": "Contoso", "revenue": {}, "active": true, "updated_at": "2026-01-05T10:00:00Z"}},
             "a2": {{"name": "Fabrikam", "active": true}},
             "a3": {{"name": "Northwind", "active": true}}}}"#,
        db.revenue()
    ));
    assert_eq!(json!(digest(&app, "crm", "account").await), accounts);
    assert_eq!(
        json!(digest(&app, "crm", "contact").await),
        json!({"1": {"fullname": "Ada", "accountid": "a1", "email": "ada@contoso.example"},
               "2": {"fullname": "Bob", "accountid": "a2"}})
    );

    // Plain SQL on the database arrives by the next sync, each change once.
    db.exec(
        "INSERT INTO account (accountid, name) VALUES ('a4', 'Litware'); \
         UPDATE account SET name = 'Contoso Ltd' WHERE accountid = 'a1'; \
         UPDATE account SET name = 'Contoso Group' WHERE accountid = 'a1'; \
         DELETE FROM account WHERE accountid = 'a3';",
    );
    // One delete of three records is over the guard's 10 %: held until approved.
    let job = app.sync("crm", json!({})).await;
    assert_eq!(job["Status"], "Held", "{job}");
    assert_eq!(job["Summary"]["account"]["PlannedDeletes"], 1, "{job}");
    let job = app.approve(&job).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(counts(&job, "account"), (1, 1, 1), "{job}");
    let now = digest(&app, "crm", "account").await;
    assert_eq!(now["a1"]["name"], "Contoso Group");
    assert!(!now.contains_key("a3"));
    let job = app.sync("crm", json!({})).await;
    assert_eq!(counts(&job, "account"), (0, 0, 0), "nothing twice: {job}");

    // PostgreSQL: a transaction that wrote first and commits after a later one is never
    // skipped. While it is open nothing behind it is taken; once it commits, both arrive.
    if let External::Postgres { url, schema } = &db {
        let mut late = External::postgres_conn(url, schema);
        late.batch_execute("BEGIN; INSERT INTO account (accountid, name) VALUES ('late', 'Late')")
            .unwrap();
        db.exec_unsettled("INSERT INTO account (accountid, name) VALUES ('early', 'Early')");
        let job = app.sync("crm", json!({})).await;
        assert_eq!(
            counts(&job, "account"),
            (0, 0, 0),
            "held behind the open one: {job}"
        );
        late.batch_execute("COMMIT").unwrap();
        db.settle();
        let job = app.sync("crm", json!({})).await;
        assert_eq!(counts(&job, "account"), (2, 0, 0), "{job}");
        let now = digest(&app, "crm", "account").await;
        assert!(
            now.contains_key("late") && now.contains_key("early"),
            "{now:?}"
        );
        let job = app.sync("crm", json!({})).await;
        assert_eq!(counts(&job, "account"), (0, 0, 0), "each once: {job}");
    }

    // Client writes reach the tables and do not come back as changes; a row the database
    // refuses fails alone, with its message.
    app.post("/rest/v1/orgs/crm/entities/account/records")
        .json(&json!({"Id": "a5", "Attributes": {"name": "Adventure Works", "revenue": "42.5"}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.post("/rest/v1/orgs/crm/entities/contact/records")
        .json(&json!({"Id": "3", "Attributes": {"fullname": "Cy", "accountid": "a5", "email": "ada@contoso.example"}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.post("/rest/v1/orgs/crm/entities/contact/records")
        .json(&json!({"Id": "4", "Attributes": {"fullname": "Di", "accountid": "a5"}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    let job = app.sync("crm", json!({})).await;
    assert_eq!(job["Status"], "CompletedWithErrors", "{job}");
    db.settle();
    let again = app.sync("crm", json!({})).await;
    // No echo of the writes, but what the database added to one (a5's default `active`) comes
    // back: the client ends equal to the table.
    assert_eq!(
        counts(&job, "account").1 + counts(&again, "account").1,
        1,
        "{job} {again}"
    );
    assert_eq!(counts(&job, "contact"), (0, 0, 0), "no echo: {job}");
    assert_eq!(counts(&again, "contact"), (0, 0, 0), "no echo: {again}");
    assert_eq!(
        digest(&app, "crm", "account").await["a5"],
        json!({"name": "Adventure Works", "revenue": 42.5, "active": true})
    );
    assert_eq!(
        db.rows("SELECT name || ':' || CAST(revenue AS TEXT) AS row FROM account WHERE accountid = 'a5'"),
        [if matches!(db, External::Postgres { .. }) {
            "Adventure Works:42.5000"
        } else {
            "Adventure Works:42.5"
        }]
    );
    assert_eq!(
        db.rows("SELECT fullname AS row FROM contact WHERE contactid > 2 ORDER BY contactid"),
        ["Di"]
    );
    let failed = app
        .get("/rest/v1/sync/crm/transactions?Status=Error")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let failed = failed["Transactions"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["RecordId"], "3");
    let error = failed[0]["Error"].to_string().to_lowercase();
    assert!(error.contains("unique"), "the database's message: {error}");

    // UpdateMetadataAsync reads the catalog again: a new column appears, a dropped one goes.
    db.exec("ALTER TABLE account ADD COLUMN phone varchar(20); ALTER TABLE account DROP COLUMN revenue;");
    let accepted = app
        .post("/rest/v1/sync/crm/UpdateMetadataAsync")
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let job = app
        .wait_job(
            accepted["JobId"].as_str().unwrap(),
            &["Completed", "Failed"],
            30,
        )
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let metadata = app
        .get("/rest/v1/orgs/crm/metadata")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let account: Vec<&str> = metadata["Entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Name"] == "account")
        .unwrap()["Attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Name"].as_str().unwrap())
        .collect();
    assert!(
        account.contains(&"phone") && !account.contains(&"revenue"),
        "{account:?}"
    );
    db.exec("UPDATE account SET phone = '555-0100' WHERE accountid = 'a2'");
    let job = app.sync("crm", json!({})).await;
    // a2's phone, and a1 and a5 without the revenue that went with its column.
    assert_eq!(counts(&job, "account").1, 3, "{job}");
    assert_eq!(
        digest(&app, "crm", "account").await["a2"]["phone"],
        "555-0100"
    );

    // Disconnecting with DropChangeCapture leaves no orgsync object in the database.
    assert!(db.orgsync_objects() > 0);
    app.delete("/rest/v1/sync/crm/connection?DropChangeCapture=true")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(db.orgsync_objects(), 0);
    db.exec("INSERT INTO account (accountid, name) VALUES ('a9', 'After')");
}

/// A link's filter holds on the database's rows: on the first read (where the database decides
/// what it can of it), and on changes (a row leaving the scope leaves the client); a dry run
/// writes nothing and a per-item sync reads just the named record.
async fn filters_dry_runs_and_per_item_syncs(app: TestApp, db: External) {
    db.exec(&format!(
        "INSERT INTO account (accountid, name, active, revenue, updated_at) VALUES \
           ('a1', 'Contoso', true, {}, '2026-01-05T10:00:00Z'); \
         INSERT INTO account (accountid, name, active) VALUES \
           ('a2', 'contoso east', true), ('a3', 'Contoso West', false), ('a4', 'Fabrikam', true);",
        db.revenue()
    ));
    let mut given = setup(&db, true);
    given["Entities"] = json!(["account"]);
    given["SyncFilters"] = json!({"account": {"Type": "and", "Conditions": [
        {"Attribute": "active", "Operator": "eq", "Value": true},
        {"Attribute": "name", "Operator": "begins-with", "Value": "CONTOSO"}]}});
    given["DeleteGuard"] = json!("Off");
    app.connect("crm", "", given).await;
    // Explain counts in the database: the link's filter keeps two of four rows, and says why
    // a3 is out.
    let explained = app
        .post("/rest/v1/sync/crm/links/account/Explain")
        .json(&json!({"RecordIds": ["a3", "a9"]}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        (&explained["InScope"], &explained["Total"]),
        (&json!(2), &json!(4)),
        "{explained}"
    );
    assert_eq!(
        explained["Records"],
        json!([
            {"Id": "a3", "Exists": true, "InScope": false, "Failed": [
                {"Attribute": "active", "Operator": "eq", "Value": true, "Actual": false}]},
            {"Id": "a9", "Exists": false, "InScope": false, "Failed": []}])
    );
    let dry = app.sync("crm", json!({"DryRun": true})).await;
    assert_eq!(counts(&dry, "account").0, 2, "{dry}");
    assert!(
        digest(&app, "crm", "account").await.is_empty(),
        "a dry run writes nothing"
    );
    let job = app.sync("crm", json!({})).await;
    assert_eq!(counts(&job, "account"), (2, 0, 0), "{job}");
    let ids: Vec<String> = digest(&app, "crm", "account").await.into_keys().collect();
    assert_eq!(ids, ["a1", "a2"]);
    db.exec("UPDATE account SET active = false WHERE accountid = 'a2'; UPDATE account SET active = true WHERE accountid = 'a3';");
    let job = app.sync("crm", json!({})).await;
    assert_eq!(counts(&job, "account"), (1, 0, 1), "{job}");
    let ids: Vec<String> = digest(&app, "crm", "account").await.into_keys().collect();
    assert_eq!(ids, ["a1", "a3"]);
    // Per item: only the named record is read, whatever else changed.
    db.exec("UPDATE account SET name = 'Contoso HQ' WHERE accountid = 'a1'; UPDATE account SET name = 'Contoso W' WHERE accountid = 'a3';");
    let job = app
        .sync("crm", json!({"Entities": ["account"], "RecordIds": ["a1"]}))
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let now = digest(&app, "crm", "account").await;
    assert_eq!(
        (&now["a1"]["name"], &now["a3"]["name"]),
        (&json!("Contoso HQ"), &json!("Contoso West"))
    );
    // Compare digests the rows the filter keeps as the client stores them (an exact numeric
    // and a timestamp alike): only a3, which the per-item sync left, differs; Repair takes it.
    let found = compare_in(&app, "crm", json!({})).await;
    assert_eq!(
        compared(&found["Summary"]["account"]),
        json!({"Server": 2, "Client": 2, "Missing": 0, "Extra": 0, "Stale": 1,
               "LocalOnly": 0, "Pending": 0}),
        "{found:#}"
    );
    assert_eq!(
        found["Summary"]["account"]["FirstIds"],
        json!({"Stale": ["a3"]})
    );
    let repaired = compare_in(&app, "crm", json!({"Repair": true})).await;
    assert_eq!(counts(&repaired, "account"), (0, 1, 0), "{repaired:#}");
    let again = compare_in(&app, "crm", json!({})).await;
    assert_eq!(again["Summary"]["account"]["Stale"], 0, "{again:#}");
    assert_eq!(
        digest(&app, "crm", "account").await["a3"]["name"],
        json!("Contoso W")
    );
}

async fn filters_on_a_sqlite_database(app: TestApp) {
    filters_dry_runs_and_per_item_syncs(app, External::sqlite()).await
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn filters_on_a_postgres_database() {
    filters_dry_runs_and_per_item_syncs(TestApp::sqlite().await, External::postgres()).await
}

/// A client change to a row the database changed meanwhile is a conflict, settled by the
/// connection's policy: Manual parks it, and Resolve with the client's side writes it.
async fn conflicts_follow_the_policy(app: TestApp, db: External) {
    db.exec("INSERT INTO account (accountid, name) VALUES ('a1', 'Contoso'), ('a2', 'Fabrikam')");
    let mut given = setup(&db, true);
    given["Entities"] = json!(["account"]);
    given["ConflictPolicy"] = json!("Manual");
    app.connect("crm", "", given).await;
    app.sync("crm", json!({})).await;
    for (id, name) in [("a1", "Client name"), ("a2", "Client too")] {
        app.patch(&format!("/rest/v1/orgs/crm/entities/account/records/{id}"))
            .json(&json!({"Attributes": {"name": name}}))
            .send()
            .await
            .expect(StatusCode::OK);
    }
    db.exec("UPDATE account SET name = 'Server name' WHERE accountid = 'a1'");
    let job = app.sync("crm", json!({"Direction": "Outbound"})).await;
    assert_eq!(job["Status"], "CompletedWithErrors", "{job}");
    assert_eq!(
        db.rows("SELECT accountid || '=' || name AS row FROM account ORDER BY accountid"),
        ["a1=Server name", "a2=Client too"],
        "the unchanged row takes the client's write, the changed one waits"
    );
    let conflicts = app
        .get("/rest/v1/sync/crm/conflicts")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let c = &conflicts["Conflicts"][0];
    assert_eq!(c["RecordId"], "a1", "{conflicts}");
    assert_eq!(c["ServerRecord"]["Attributes"]["name"], "Server name");
    let id = c["ConflictId"].as_str().unwrap();
    app.post(&format!("/rest/v1/sync/crm/conflicts/{id}/Resolve"))
        .json(&json!({"Take": "Client"}))
        .send()
        .await
        .expect(StatusCode::OK);
    let job = app.sync("crm", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        db.rows("SELECT name AS row FROM account WHERE accountid = 'a1'"),
        ["Client name"]
    );
}

/// The data-safety layer holds against a database: MatchOn adopts the client's own record
/// instead of duplicating it, a local-only record stays, Additive never deletes, and a
/// Mirror delete goes through the quarantine, from where UndoDeletes brings it back — into the
/// table too, by the next sync.
async fn the_safety_layer_holds(app: TestApp, db: External) {
    db.exec(
        "INSERT INTO account (accountid, name) VALUES \
         ('a1', 'Contoso'), ('a2', 'Fabrikam'), ('a3', 'Northwind')",
    );
    app.org("crm").await;
    app.entity(
        "crm",
        "account",
        json!({"PrimaryName": "name", "Attributes": [
            {"Name": "name", "Type": "String", "Required": true, "MaxLength": 100}]}),
    )
    .await;
    app.write_batch(
        "crm",
        vec![
            json!({"Op": "Upsert", "Entity": "account", "Id": "mine-1", "Attributes": {"name": " contoso "}}),
            json!({"Op": "Upsert", "Entity": "account", "Id": "mine-2", "Attributes": {"name": "Only here"}}),
        ],
    )
    .await;
    let mut given = setup(&db, true);
    given["Entities"] = json!(["account"]);
    given["MatchOn"] = json!({"account": ["name"]});
    given["SyncMode"] = json!("Additive");
    given["DeleteGuard"] = json!("Off");
    app.connect("crm", "", given).await;
    let job = app.sync("crm", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(job["Summary"]["account"]["Matched"], 1, "{job}");
    assert_eq!(job["Summary"]["account"]["LocalOnly"], 1, "{job}");
    let ids: Vec<String> = digest(&app, "crm", "account").await.into_keys().collect();
    assert_eq!(ids, ["a1", "a2", "a3", "mine-2"], "adopted, not duplicated");

    // Additive: a row deleted in the table stays on the client.
    db.exec("DELETE FROM account WHERE accountid = 'a3'");
    let job = app.sync("crm", json!({})).await;
    assert_eq!(counts(&job, "account").2, 0, "{job}");
    assert!(digest(&app, "crm", "account").await.contains_key("a3"));

    // Mirror: the next delete is made, into the job's quarantine, and undone from there.
    app.patch("/rest/v1/sync/crm/connection")
        .json(&json!({"SyncMode": "Mirror"}))
        .send()
        .await
        .expect(StatusCode::OK);
    db.exec("DELETE FROM account WHERE accountid = 'a2'");
    let job = app.sync("crm", json!({})).await;
    assert_eq!(counts(&job, "account").2, 1, "{job}");
    let id = job["JobId"].as_str().unwrap();
    let quarantine = app
        .get(&format!("/rest/v1/jobs/{id}/quarantine"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(quarantine["Items"][0]["Id"], "a2", "{quarantine}");
    assert_eq!(quarantine["Items"][0]["Attributes"]["name"], "Fabrikam");
    app.post(&format!("/rest/v1/jobs/{id}/UndoDeletes"))
        .json(&json!({}))
        .send()
        .await
        .expect(StatusCode::OK);
    assert!(digest(&app, "crm", "account").await.contains_key("a2"));
    let job = app.sync("crm", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        db.rows("SELECT name AS row FROM account WHERE accountid = 'a2'"),
        ["Fabrikam"],
        "restored in the table by the sync"
    );
    assert!(
        digest(&app, "crm", "account").await.contains_key("mine-2"),
        "the local-only record is still there"
    );
}

async fn safety_on_a_sqlite_database(app: TestApp) {
    the_safety_layer_holds(app, External::sqlite()).await
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn safety_on_a_postgres_database() {
    the_safety_layer_holds(TestApp::postgres().await, External::postgres()).await
}

/// A Send snapshot makes the table equal to the client: every client record written, rows the
/// client lacks deleted (into the quarantine), and none of it echoed back by the next sync.
async fn a_send_snapshot_overrides_the_table(app: TestApp, db: External) {
    db.exec("INSERT INTO account (accountid, name) VALUES ('a1', 'Contoso'), ('a2', 'Fabrikam')");
    let mut given = setup(&db, true);
    given["Entities"] = json!(["account"]);
    given["DeleteGuard"] = json!("Off");
    app.connect("crm", "", given).await;
    app.sync("crm", json!({})).await;
    app.patch("/rest/v1/orgs/crm/entities/account/records/a1")
        .json(&json!({"Attributes": {"name": "Contoso (client)"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    app.post("/rest/v1/orgs/crm/entities/account/records")
        .json(&json!({"Id": "c1", "Attributes": {"name": "Client only"}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    db.exec("INSERT INTO account (accountid, name) VALUES ('t1', 'Table only')");
    let job = app.snapshot("crm", json!({"Direction": "Send"})).await;
    let log = app.job_log(job["JobId"].as_str().unwrap()).await;
    assert_eq!(job["Status"], "Completed", "{job} {log:?}");
    let names = |rows: Vec<String>| rows.join(", ");
    assert_eq!(
        names(db.rows("SELECT accountid || '=' || name AS row FROM account ORDER BY accountid")),
        "a1=Contoso (client), a2=Fabrikam, c1=Client only"
    );
    let id = job["JobId"].as_str().unwrap();
    let quarantine = app
        .get(&format!("/rest/v1/jobs/{id}/quarantine"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let deleted: Vec<&Value> = quarantine["Items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["Action"] == "Deleted")
        .collect();
    assert_eq!(deleted.len(), 1, "{quarantine}");
    assert_eq!(
        (&deleted[0]["Id"], &deleted[0]["Attributes"]["name"]),
        (&json!("t1"), &json!("Table only"))
    );
    // No echo; only the default the table gave the new row comes back.
    db.settle();
    let next = app.sync("crm", json!({})).await;
    assert_eq!(counts(&next, "account"), (0, 1, 0), "{next}");
    assert_eq!(
        digest(&app, "crm", "account").await["c1"],
        json!({"name": "Client only", "active": true})
    );
    db.settle();
    let next = app.sync("crm", json!({})).await;
    assert_eq!(counts(&next, "account"), (0, 0, 0), "no echo: {next}");
}

async fn send_on_a_sqlite_database(app: TestApp) {
    a_send_snapshot_overrides_the_table(app, External::sqlite()).await
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn send_on_a_postgres_database() {
    a_send_snapshot_overrides_the_table(TestApp::postgres().await, External::postgres()).await
}

/// Two client orgs on the same tables: what one writes reaches the other by its next sync,
/// and comes back to neither as an echo.
async fn two_connections_share_a_database(app: TestApp, db: External) {
    db.exec("INSERT INTO account (accountid, name) VALUES ('a1', 'Contoso')");
    for org in ["crm", "crm2"] {
        let mut given = setup(&db, true);
        given["Entities"] = json!(["account"]);
        app.connect(org, "", given).await;
        app.sync(org, json!({})).await;
    }
    app.patch("/rest/v1/orgs/crm/entities/account/records/a1")
        .json(&json!({"Attributes": {"name": "From crm"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    let job = app.sync("crm", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    db.settle();
    let mine = app.sync("crm", json!({})).await;
    assert_eq!(counts(&mine, "account"), (0, 0, 0), "no echo: {mine}");
    let theirs = app.sync("crm2", json!({})).await;
    assert_eq!(counts(&theirs, "account"), (0, 1, 0), "{theirs}");
    assert_eq!(
        digest(&app, "crm2", "account").await["a1"]["name"],
        "From crm"
    );
}

async fn shared_sqlite_database(app: TestApp) {
    two_connections_share_a_database(app, External::sqlite()).await
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn shared_postgres_database() {
    two_connections_share_a_database(TestApp::postgres().await, External::postgres()).await
}

fn short_retention(settings: &mut orgsync::config::Settings) {
    settings.tombstone_retention = std::time::Duration::from_secs(1);
}

/// The change log is pruned after the tombstone retention; a reader whose token is behind what
/// was pruned reads the table in full instead, and misses nothing.
async fn a_pruned_log_means_a_full_read(app: TestApp, db: External) {
    db.exec("INSERT INTO account (accountid, name) VALUES ('a1', 'Contoso'), ('a2', 'Fabrikam')");
    let mut given = setup(&db, true);
    given["Entities"] = json!(["account"]);
    given["DeleteGuard"] = json!("Off");
    app.connect("crm", "", given).await;
    app.sync("crm", json!({})).await;
    db.exec(
        "UPDATE account SET name = 'Contoso Ltd' WHERE accountid = 'a1'; \
             DELETE FROM account WHERE accountid = 'a2'; \
             INSERT INTO account (accountid, name) VALUES ('a3', 'Litware')",
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let job = app.sync("crm", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let log = app.job_log(job["JobId"].as_str().unwrap()).await;
    assert!(log.iter().any(|e| e["Action"] == "TokenExpired"), "{log:?}");
    assert_eq!(
        db.rows("SELECT count(*) || '' AS row FROM orgsync_change_log"),
        ["0"],
        "pruned"
    );
    let client: std::collections::BTreeMap<String, Value> = digest(&app, "crm", "account")
        .await
        .into_iter()
        .map(|(id, a)| (id, a["name"].clone()))
        .collect();
    assert_eq!(client, names(&db));
}

async fn conflicts_on_a_sqlite_database(app: TestApp) {
    conflicts_follow_the_policy(app, External::sqlite()).await
}

async fn pruning_on_a_sqlite_database(app: TestApp) {
    a_pruned_log_means_a_full_read(app, External::sqlite()).await
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn conflicts_on_a_postgres_database() {
    conflicts_follow_the_policy(TestApp::postgres().await, External::postgres()).await
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn pruning_on_a_postgres_database() {
    a_pruned_log_means_a_full_read(
        TestApp::postgres_with(short_retention).await,
        External::postgres(),
    )
    .await
}

/// Every account of the database, id → name.
fn names(db: &External) -> std::collections::BTreeMap<String, Value> {
    db.rows("SELECT accountid || '|' || name AS row FROM account")
        .into_iter()
        .map(|r| {
            let (id, name) = r.split_once('|').unwrap();
            (id.to_owned(), json!(name))
        })
        .collect()
}

/// A client process killed in the middle of a full read of the database resumes from the last
/// page it committed and ends equal to the table, each record applied once, with what changed
/// in the table meanwhile.
async fn killed_mid_full_read_resumes(observer: TestApp, db: External) {
    let n = 4000;
    db.exec(
        &format!(
            "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < {}) \
         INSERT INTO account (accountid, name) \
         SELECT 'acc-' || substr('0000' || i, -5, 5), 'Account ' || i FROM k",
            n - 1
        )
        .replace(
            "substr('0000' || i, -5, 5)",
            match db {
                External::Sqlite { .. } => "printf('%05d', i)",
                External::Postgres { .. } => "lpad(i::text, 5, '0')",
            },
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let process = Launch::new(&observer.db_url, dir.path())
        .set("ORGSYNC_WORKERS", "2")
        .set("ORGSYNC_JOB_LEASE", "2s")
        .set("ORGSYNC_JOB_POLL", "100ms")
        .set("ORGSYNC_JOB_BACKOFF", "200ms")
        .set("ORGSYNC_SYNC_BATCH", "40");
    let mut first = process.clone().label("first").start().await;
    let mut given = setup(&db, true);
    given["Entities"] = json!(["account"]);
    let connect = first.connect_async("client", "", given).await;
    first.wait_job(&connect, &["Completed"], 60).await;
    let id = first.start_sync("client", json!({})).await;
    let job = observer.wait_progress(&id, "Download account").await;
    assert!(
        job["Progress"]["Done"].as_i64() < Some(n),
        "the sync finished before it could be interrupted: {job}"
    );
    first.kill();
    let killed_at = observer.usage_count("client").await;
    db.exec(
        "UPDATE account SET name = 'Changed while down' WHERE accountid = 'acc-00001'; \
             DELETE FROM account WHERE accountid = 'acc-03999';",
    );
    let second = process.label("second").start().await;
    let job = second.wait_job(&id, &["Completed", "Failed"], 120).await;
    assert_eq!(
        (&job["Status"], &job["Tries"]),
        (&json!("Completed"), &json!(2)),
        "{job}"
    );
    assert!(killed_at < n, "killed mid-way ({killed_at} of {n})");
    // What changed while it was down arrives by the next sync, from the change log.
    let job = second.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let client: std::collections::BTreeMap<String, Value> = digest(&observer, "client", "account")
        .await
        .into_iter()
        .map(|(id, a)| (id, a["name"].clone()))
        .collect();
    assert_eq!(client, names(&db));
    let (changes, _) = observer
        .all_changes("client", None, json!({"Entities": ["account"]}))
        .await;
    let ids: std::collections::BTreeSet<&str> =
        changes.iter().map(|c| c["Id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), changes.len(), "each record once");
}

#[actix_web::test]
async fn a_full_read_killed_mid_way_resumes_sqlite() {
    killed_mid_full_read_resumes(
        TestApp::sqlite_with(|s| s.workers = 0).await,
        External::sqlite(),
    )
    .await
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn a_full_read_killed_mid_way_resumes_postgres() {
    killed_mid_full_read_resumes(
        TestApp::postgres_with(|s| s.workers = 0).await,
        External::postgres(),
    )
    .await
}

/// A batch whose answer was lost is sent again with its key: the database's stored answer
/// comes back and nothing is written twice; the key with another batch is refused.
async fn a_replayed_batch_is_not_applied_twice(db: External) {
    use orgsync::providers::{connect, ProviderConfig, ProviderError, Written};
    use orgsync::wire::batch::{BatchOp, BatchOperation};
    let provider = connect(ProviderConfig {
        provider_id: "sql".to_owned(),
        url: db.url(),
        user_name: db.user(),
        password: "unused-by-trust-auth".to_owned(),
        timeout: std::time::Duration::from_secs(10),
        policy: std::sync::Arc::new(orgsync::domain::policy::BackendPolicy::parse("", "").unwrap()),
        response_limit: 1 << 20,
        change_capture: true,
        retention: std::time::Duration::from_secs(86_400),
        writer: "replay-test".to_owned(),
    })
    .unwrap();
    let defs = provider.metadata().await.unwrap();
    provider.prepare(&defs).await.unwrap();
    let upsert = |name: &str| BatchOperation {
        op: BatchOp::Upsert,
        entity: "account".to_owned(),
        id: "r1".to_owned(),
        attributes: Some(serde_json::from_value(json!({"name": name})).unwrap()),
        if_version: Some(0),
    };
    let first = provider
        .write_batch("batch-1", &[upsert("Once")])
        .await
        .unwrap();
    assert!(
        matches!(first[0], Written::Applied { version: Some(_) }),
        "{first:?}"
    );
    // The record goes; a replay must not bring it back.
    db.exec("DELETE FROM account WHERE accountid = 'r1'");
    let replay = provider
        .write_batch("batch-1", &[upsert("Once")])
        .await
        .unwrap();
    assert_eq!(replay, first, "the stored answer");
    assert!(db
        .rows("SELECT name AS row FROM account WHERE accountid = 'r1'")
        .is_empty());
    let other = provider.write_batch("batch-1", &[upsert("Twice")]).await;
    assert!(
        matches!(&other, Err(ProviderError::Rejected { code, .. }) if code == "idempotency_key_reused"),
        "{other:?}"
    );
}

#[actix_web::test]
async fn a_replayed_batch_is_not_applied_twice_sqlite() {
    a_replayed_batch_is_not_applied_twice(External::sqlite()).await
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn a_replayed_batch_is_not_applied_twice_postgres() {
    a_replayed_batch_is_not_applied_twice(External::postgres()).await
}

async fn a_sqlite_database(app: TestApp) {
    a_database_is_kept_in_step_both_ways(app, External::sqlite()).await
}

async fn a_postgres_database(app: TestApp) {
    if std::env::var("ORGSYNC_TEST_POSTGRES_URL").is_err() {
        panic!("needs ORGSYNC_TEST_POSTGRES_URL");
    }
    a_database_is_kept_in_step_both_ways(app, External::postgres()).await
}

both_backends!(
    a_sqlite_database,
    filters_on_a_sqlite_database,
    conflicts_on_a_sqlite_database,
    safety_on_a_sqlite_database,
    send_on_a_sqlite_database,
    shared_sqlite_database
);
both_backends_with!(short_retention; pruning_on_a_sqlite_database);

mod external_postgres {
    use super::*;

    #[actix_web::test]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
    )]
    async fn on_sqlite() {
        a_postgres_database(TestApp::sqlite().await).await
    }

    #[actix_web::test]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
    )]
    async fn on_postgres() {
        a_postgres_database(TestApp::postgres().await).await
    }
}
