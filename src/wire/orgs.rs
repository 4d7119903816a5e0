//! What an org carries besides its data: who registered it and its quotas.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", rename_all = "PascalCase", deny_unknown_fields)]
pub struct RegistrationInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

/// Limits reported by `/usage` and sync summaries; going over never stops a write or a sync.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", rename_all = "PascalCase", deny_unknown_fields)]
pub struct Quotas {
    /// Most live records in the whole org.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "limit::max_records"
    )]
    pub max_records: Option<u64>,
    /// Most live records per entity.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "limit::per_entity"
    )]
    pub entities: Option<BTreeMap<String, u64>>,
}

/// A quota is a count the contract declares as `int64`: a larger one is refused, not stored and
/// echoed as a number other clients cannot read back.
mod limit {
    use std::collections::BTreeMap;

    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    const MAX: u64 = i64::MAX as u64;

    fn check<E: Error>(what: &str, n: u64) -> Result<u64, E> {
        if n > MAX {
            return Err(E::custom(format!(
                "{what} is {n}; a quota is at most {MAX}"
            )));
        }
        Ok(n)
    }

    pub fn max_records<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Option::<u64>::deserialize(d)?
            .map(|n| check("MaxRecords", n))
            .transpose()
    }

    pub fn per_entity<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<BTreeMap<String, u64>>, D::Error> {
        let Some(map) = Option::<BTreeMap<String, u64>>::deserialize(d)? else {
            return Ok(None);
        };
        for (entity, n) in &map {
            check(&format!("the quota of {entity}"), *n)?;
        }
        Ok(Some(map))
    }
}

crate::objects_only!(RegistrationInfo, Quotas);
