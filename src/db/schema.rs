// The tables of migrations/{sqlite,postgres}; both backends share these column types.

diesel::table! {
    orgs (id) {
        id -> BigInt,
        name -> Text,
        display_name -> Nullable<Text>,
        registration_info -> Nullable<Text>,
        quotas -> Nullable<Text>,
        last_version -> BigInt,
        purged_version -> BigInt,
        metadata_version -> BigInt,
        created_on -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        org_id -> BigInt,
        user_name -> Text,
        password_hash -> Text,
        role -> Text,
        created_on -> BigInt,
    }
}

diesel::table! {
    entities (org_id, name) {
        org_id -> BigInt,
        name -> Text,
        definition -> Text,
    }
}

diesel::table! {
    records (org_id, entity, id) {
        org_id -> BigInt,
        entity -> Text,
        id -> Text,
        version -> BigInt,
        created_version -> BigInt,
        created_on -> BigInt,
        modified_on -> BigInt,
        deleted -> Bool,
        attributes -> Text,
    }
}

diesel::table! {
    idempotency_keys (org_id, key) {
        org_id -> BigInt,
        key -> Text,
        request_hash -> Text,
        response -> Text,
        created_on -> BigInt,
    }
}

diesel::joinable!(users -> orgs (org_id));
diesel::joinable!(entities -> orgs (org_id));
diesel::joinable!(records -> orgs (org_id));
diesel::joinable!(idempotency_keys -> orgs (org_id));

diesel::allow_tables_to_appear_in_same_query!(orgs, users, entities, records, idempotency_keys);
