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
        uid -> Text,
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
        uid -> Text,
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
        server_version -> Nullable<BigInt>,
        digest -> Nullable<Binary>,
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

diesel::table! {
    provider_users (id) {
        id -> BigInt,
        user_name -> Text,
        password_hash -> Text,
        created_on -> BigInt,
        uid -> Text,
    }
}

diesel::joinable!(users -> orgs (org_id));
diesel::joinable!(entities -> orgs (org_id));
diesel::joinable!(records -> orgs (org_id));
diesel::joinable!(idempotency_keys -> orgs (org_id));

diesel::table! {
    connections (org_id) {
        org_id -> BigInt,
        provider -> Text,
        url -> Text,
        user_name -> Text,
        password_enc -> Text,
        entities -> Nullable<Text>,
        sync_filters -> Nullable<Text>,
        write_offline -> Bool,
        sync_mode -> Text,
        conflict_policy -> Text,
        sync_interval_secs -> Nullable<BigInt>,
        state -> Text,
        last_error -> Nullable<Text>,
        last_sync_on -> Nullable<BigInt>,
        created_on -> BigInt,
        updated_on -> BigInt,
        match_on -> Nullable<Text>,
        delete_guard -> Nullable<Text>,
        change_capture -> Bool,
    }
}

diesel::table! {
    links (org_id, entity) {
        org_id -> BigInt,
        entity -> Text,
        inbound -> Bool,
        outbound -> Bool,
        sync_filter -> Nullable<Text>,
        checkpoint -> Nullable<Text>,
        needs_full -> Bool,
        full_running -> Bool,
        full_token -> Nullable<Text>,
        sweep -> Bool,
        last_sync_on -> Nullable<BigInt>,
        snapshot_filter -> Nullable<Text>,
        awaiting_send -> Bool,
    }
}

diesel::table! {
    link_seen (org_id, entity, id) {
        org_id -> BigInt,
        entity -> Text,
        id -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        org_name -> Text,
        status -> Text,
        tries -> Integer,
        max_tries -> Integer,
        entered_on -> BigInt,
        last_tried_on -> Nullable<BigInt>,
        finished_on -> Nullable<BigInt>,
        run_after -> BigInt,
        added_by -> Text,
        params -> Text,
        progress -> Text,
        summary -> Text,
        error -> Nullable<Text>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        cancel_requested -> Bool,
        deletes_approved -> Bool,
    }
}

diesel::table! {
    job_log (id) {
        id -> BigInt,
        job_id -> Text,
        at -> BigInt,
        level -> Text,
        entity -> Nullable<Text>,
        record_id -> Nullable<Text>,
        action -> Text,
        message -> Text,
        record_ids -> Nullable<Text>,
    }
}

diesel::table! {
    transactions (id) {
        id -> Text,
        org_id -> BigInt,
        seq -> BigInt,
        entity -> Text,
        record_id -> Text,
        operation -> Text,
        attributes -> Nullable<Text>,
        base_version -> BigInt,
        status -> Text,
        tries -> Integer,
        error -> Nullable<Text>,
        resolution -> Nullable<Text>,
        batch_key -> Nullable<Text>,
        created_on -> BigInt,
        processed_on -> Nullable<BigInt>,
    }
}

diesel::table! {
    transaction_batches (key) {
        key -> Text,
        org_id -> BigInt,
        body -> Text,
        members -> Text,
        created_on -> BigInt,
    }
}

diesel::table! {
    conflicts (id) {
        id -> Text,
        org_id -> BigInt,
        transaction_id -> Text,
        entity -> Text,
        record_id -> Text,
        client_attributes -> Nullable<Text>,
        server_record -> Nullable<Text>,
        status -> Text,
        created_on -> BigInt,
        resolved_on -> Nullable<BigInt>,
        resolution -> Nullable<Text>,
    }
}

diesel::table! {
    staged_deletes (job_id, entity, record_id) {
        job_id -> Text,
        org_id -> BigInt,
        entity -> Text,
        record_id -> Text,
        server_version -> Nullable<BigInt>,
        reason -> Nullable<Text>,
        prior -> Nullable<Text>,
    }
}
diesel::table! {
    snapshot_progress (job_id, entity) {
        job_id -> Text,
        entity -> Text,
        after_version -> BigInt,
        done -> Bool,
        pending -> Nullable<Text>,
    }
}

diesel::table! {
    quarantine (id) {
        id -> BigInt,
        job_id -> Text,
        org_id -> BigInt,
        entity -> Text,
        record_id -> Text,
        side -> Text,
        action -> Text,
        attributes -> Text,
        version -> BigInt,
        created_on -> BigInt,
        restored_on -> Nullable<BigInt>,
    }
}

diesel::joinable!(connections -> orgs (org_id));
diesel::joinable!(links -> orgs (org_id));
diesel::joinable!(job_log -> jobs (job_id));

diesel::allow_tables_to_appear_in_same_query!(
    orgs,
    users,
    provider_users,
    entities,
    records,
    idempotency_keys,
    connections,
    links,
    link_seen,
    jobs,
    job_log,
    transactions,
    transaction_batches,
    conflicts,
    staged_deletes,
    quarantine,
    snapshot_progress,
);
