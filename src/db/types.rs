//! How typed values are stored in text columns: enums by their wire name, structured values
//! as JSON. One mapping each, through diesel's `ToSql`/`FromSql`, so a row is typed the moment
//! it is read; a stored value that does not read back is an error naming the column's type
//! and the value, never a silent default.

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Stores an enum with `as_str`/`parse` as its name in a `Text` column.
macro_rules! text_enum {
    ($($t:ty),* $(,)?) => {$(
        const _: () = {
            #[derive(diesel::AsExpression, diesel::FromSqlRow)]
            #[diesel(foreign_derive, sql_type = diesel::sql_types::Text)]
            #[allow(dead_code)]
            struct Column($t);
        };

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $t
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    DB,
                >>::from_sql(bytes)?;
                <$t>::parse(&text).ok_or_else(|| {
                    format!("'{text}' is not a stored {}", stringify!($t)).into()
                })
            }
        }
    )*};
}

text_enum!(
    crate::domain::access::Role,
    crate::domain::jobs::JobKind,
    crate::domain::jobs::JobStatus,
    crate::domain::jobs::LogLevel,
    crate::domain::setup::SyncMode,
    crate::domain::setup::ConflictPolicy,
    crate::domain::setup::ConnectionState,
    crate::domain::transaction::TxStatus,
    crate::domain::transaction::TxOp,
    crate::domain::transaction::Resolution,
    crate::domain::transaction::ConflictStatus,
    crate::domain::transaction::Take,
);

/// A value stored as JSON text. The text is made once, when the value is, so a row can bind
/// it as often as it is written.
#[derive(Clone, PartialEq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Json<T> {
    value: T,
    text: String,
}

impl<T: Serialize> Json<T> {
    pub fn new(value: T) -> Self {
        // Serializing our own wire types to JSON text cannot fail (no non-string map keys).
        let text = serde_json::to_string(&value).unwrap_or_default();
        Self { value, text }
    }
}

impl<T> Json<T> {
    pub fn get(&self) -> &T {
        &self.value
    }
    pub fn into_inner(self) -> T {
        self.value
    }
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl<T: fmt::Debug> fmt::Debug for Json<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T, DB> ToSql<Text, DB> for Json<T>
where
    T: fmt::Debug,
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <str as ToSql<Text, DB>>::to_sql(self.text.as_str(), out)
    }
}

impl<T, DB> FromSql<Text, DB> for Json<T>
where
    T: DeserializeOwned,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        let value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "stored JSON does not fit {}: {e}",
                std::any::type_name::<T>()
            )
        })?;
        Ok(Self { value, text })
    }
}
