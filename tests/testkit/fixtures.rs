//! What tests and the benchmark are made of: the CRM entities, record operations, the server
//! org with its sync user, and the secrets shared with processes of the real binary.

use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::client::Client;

/// The server org of every sync scenario.
pub const SERVER_ORG: &str = "contoso";
/// The server org's user that clients sign in as to sync.
pub const SYNC_USER: &str = "sync@contoso.example";
pub const SYNC_PASSWORD: &str = "server-Pa55word!";

/// The JWT secret of processes of the real binary (their callers mint provider tokens with it).
pub const JWT_SECRET: &str = "orgsync-testkit-jwt-secret-not-for-production-use";
/// The key processes of the real binary seal stored credentials with.
pub const SECRET_KEY: &str = "orgsync-testkit-secret-key-not-for-production-use";

/// An entity definition, the body of `PUT /rest/v1/orgs/{org}/metadata/entities/{name}`.
#[derive(Default)]
pub struct Entity {
    display_name: Option<String>,
    primary_name: Option<String>,
    attributes: Vec<Attribute>,
}

impl Entity {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn display_name(mut self, name: &str) -> Self {
        self.display_name = Some(name.to_owned());
        self
    }
    pub fn primary_name(mut self, attribute: &str) -> Self {
        self.primary_name = Some(attribute.to_owned());
        self
    }
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }
    pub fn build(self) -> Value {
        let mut out = Map::new();
        if let Some(d) = self.display_name {
            out.insert("DisplayName".into(), json!(d));
        }
        if let Some(p) = self.primary_name {
            out.insert("PrimaryName".into(), json!(p));
        }
        let attributes = self.attributes.into_iter().map(|a| Value::Object(a.0));
        out.insert("Attributes".into(), Value::Array(attributes.collect()));
        Value::Object(out)
    }
}

/// One attribute of an [`Entity`].
pub struct Attribute(Map<String, Value>);

impl Attribute {
    /// An attribute of this `Type`.
    pub fn new(name: &str, kind: &str) -> Self {
        let mut a = Map::new();
        a.insert("Name".into(), json!(name));
        a.insert("Type".into(), json!(kind));
        Self(a)
    }
    pub fn string(name: &str) -> Self {
        Self::new(name, "String")
    }
    pub fn memo(name: &str) -> Self {
        Self::new(name, "Memo")
    }
    pub fn integer(name: &str) -> Self {
        Self::new(name, "Integer")
    }
    pub fn money(name: &str) -> Self {
        Self::new(name, "Money")
    }
    pub fn boolean(name: &str) -> Self {
        Self::new(name, "Boolean")
    }
    pub fn date_time(name: &str) -> Self {
        Self::new(name, "DateTime")
    }
    pub fn date(name: &str) -> Self {
        Self::new(name, "Date")
    }
    pub fn uniqueidentifier(name: &str) -> Self {
        Self::new(name, "Uniqueidentifier")
    }
    /// A picklist of these option values, each with its label if it has one.
    pub fn picklist(name: &str, options: &[(i64, Option<&str>)]) -> Self {
        let options = options.iter().map(|(value, label)| match label {
            Some(l) => json!({"Value": value, "Label": l}),
            None => json!({"Value": value}),
        });
        let mut a = Self::new(name, "Picklist");
        a.0.insert("Options".into(), Value::Array(options.collect()));
        a
    }
    /// A lookup of a record of `target`.
    pub fn lookup(name: &str, target: &str) -> Self {
        let mut a = Self::new(name, "Lookup");
        a.0.insert("Target".into(), json!(target));
        a
    }
    pub fn required(mut self) -> Self {
        self.0.insert("Required".into(), json!(true));
        self
    }
    pub fn max_length(mut self, n: u32) -> Self {
        self.0.insert("MaxLength".into(), json!(n));
        self
    }
}

/// The CRM `account`: a required name, an email, a long description, numbers, money, a flag,
/// a time, a date, a uuid, a state and an industry.
pub fn account_definition() -> Value {
    Entity::new()
        .display_name("Account")
        .primary_name("name")
        .attribute(Attribute::string("name").required().max_length(160))
        .attribute(Attribute::string("emailaddress1").max_length(100))
        .attribute(Attribute::memo("description"))
        .attribute(Attribute::integer("numberofemployees"))
        .attribute(Attribute::money("revenue"))
        .attribute(Attribute::boolean("creditonhold"))
        .attribute(Attribute::date_time("lastcontacted"))
        .attribute(Attribute::date("founded"))
        .attribute(Attribute::uniqueidentifier("externalid"))
        .attribute(Attribute::picklist(
            "statecode",
            &[(0, Some("Active")), (1, Some("Inactive"))],
        ))
        .attribute(Attribute::picklist(
            "industrycode",
            &[(1, None), (7, None), (9, None)],
        ))
        .build()
}

/// The CRM `contact`, with a lookup of its account.
pub fn contact_definition() -> Value {
    Entity::new()
        .primary_name("fullname")
        .attribute(Attribute::string("fullname").required())
        .attribute(Attribute::string("emailaddress1"))
        .attribute(Attribute::lookup("parentcustomerid", "account"))
        .build()
}

/// The CRM `task`, with the date a snapshot filter selects by.
pub fn task_definition() -> Value {
    Entity::new()
        .primary_name("subject")
        .attribute(Attribute::string("subject"))
        .attribute(Attribute::date_time("scheduledend"))
        .build()
}

/// The CRM `appointment`, with its start and its recurrence.
pub fn appointment_definition() -> Value {
    Entity::new()
        .primary_name("subject")
        .attribute(Attribute::string("subject"))
        .attribute(Attribute::date_time("scheduledstart"))
        .attribute(Attribute::boolean("isrecurring"))
        .attribute(Attribute::date("recurrenceend"))
        .build()
}

/// The definition of a CRM entity by its name (`account`, `contact`, `task`, `appointment`).
pub fn crm_definition(entity: &str) -> Value {
    match entity {
        "account" => account_definition(),
        "contact" => contact_definition(),
        "task" => task_definition(),
        "appointment" => appointment_definition(),
        other => panic!("no CRM entity '{other}'"),
    }
}

/// An upsert operation of a batch request, built attribute by attribute.
pub struct Upsert {
    entity: String,
    id: String,
    attributes: Map<String, Value>,
}

/// An upsert of the record `id` of `entity`; add attributes with [`Upsert::attr`].
pub fn upsert(entity: &str, id: &str) -> Upsert {
    Upsert {
        entity: entity.to_owned(),
        id: id.to_owned(),
        attributes: Map::new(),
    }
}

impl Upsert {
    pub fn attr(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(name.to_owned(), value.into());
        self
    }
    pub fn build(self) -> Value {
        json!({"Op": "Upsert", "Entity": self.entity, "Id": self.id, "Attributes": self.attributes})
    }
}

/// A delete operation of a batch request.
pub fn delete(entity: &str, id: &str) -> Value {
    json!({"Op": "Delete", "Entity": entity, "Id": id})
}

/// An account upsert with a name, an email made of the id, a state and 10 employees.
pub fn account_op(id: &str, name: &str, state: i64) -> Value {
    upsert("account", id)
        .attr("name", name)
        .attr("emailaddress1", format!("{id}@example.com"))
        .attr("statecode", state)
        .attr("numberofemployees", 10)
        .build()
}

/// Makes [`SERVER_ORG`] on `server`, with the sync user and the CRM entities; gives its Url.
pub async fn server_org(server: &Client) -> String {
    server_org_with(server, &["account", "contact"]).await
}

/// [`SERVER_ORG`] on `server` with only these CRM entities and the sync user; gives its Url.
pub async fn server_org_with(server: &Client, entities: &[&str]) -> String {
    let org = server.org(SERVER_ORG).await;
    for entity in entities {
        server.entity(&org, entity, crm_definition(entity)).await;
    }
    add_sync_user(server, &org).await;
    format!("{}/rest/v1/orgs/{org}", server.base())
}

/// Gives `org` on `server` the sync user ([`SYNC_USER`], an `org_user`).
pub async fn add_sync_user(server: &Client, org: &str) {
    server
        .post(&format!("/rest/v1/orgs/{org}/users"))
        .json(&json!({"UserName": SYNC_USER, "Password": SYNC_PASSWORD, "Role": "org_user"}))
        .send()
        .await
        .expect(StatusCode::CREATED);
}
