//! Every operator, evaluated true and false.

use super::*;

#[test]
fn every_operator_true_and_false() {
    // (condition, record value, expected)
    let table: Vec<(Value, Value, bool)> = vec![
        (cond("name", "eq", json!("Contoso")), json!("contoso"), true),
        (
            cond("name", "eq", json!("Contoso")),
            json!("Fabrikam"),
            false,
        ),
        (cond("count", "eq", json!(5)), json!(5), true),
        (cond("count", "eq", json!("5")), json!(6), false),
        (cond("rate", "eq", json!(2)), json!(2.0), true),
        (cond("active", "eq", json!(true)), json!(true), true),
        (cond("active", "eq", json!("0")), json!(true), false),
        (cond("name", "ne", json!("a")), json!("b"), true),
        (cond("name", "ne", json!("a")), json!("A"), false),
        (cond("count", "gt", json!(5)), json!(6), true),
        (cond("count", "gt", json!(5)), json!(5), false),
        (cond("rate", "gt", json!("1.5")), json!(1.6), true),
        (cond("rate", "gt", json!(1.5)), json!(1), false),
        (
            cond("due", "gt", json!("2026-01-01")),
            json!("2026-01-01T00:00:01Z"),
            true,
        ),
        (
            cond("due", "gt", json!("2026-01-01")),
            json!("2026-01-01T00:00:00Z"),
            false,
        ),
        (cond("count", "ge", json!(5)), json!(5), true),
        (cond("count", "ge", json!(5)), json!(4), false),
        (cond("name", "lt", json!("b")), json!("Apple"), true),
        (cond("name", "lt", json!("B")), json!("banana"), false),
        (cond("price", "lt", json!(10)), json!(9.99), true),
        (cond("price", "lt", json!(10)), json!(10), false),
        (
            cond("birthday", "le", json!("2000-01-01")),
            json!("2000-01-01"),
            true,
        ),
        (
            cond("birthday", "le", json!("2000-01-01")),
            json!("2000-01-02"),
            false,
        ),
        (
            cond("name", "like", json!("Con%o_")),
            json!("CONTOSO!"),
            true,
        ),
        (
            cond("name", "like", json!("Con%o_")),
            json!("Contoso"),
            false,
        ),
        (cond("name", "like", json!("%")), json!(""), true),
        (cond("name", "like", json!("a_c")), json!("abc"), true),
        (cond("name", "like", json!("a_c")), json!("ac"), false),
        (cond("name", "like", json!("[a]%")), json!("[A]x"), true),
        (cond("name", "like", json!("[a]%")), json!("ax"), false),
        (
            cond("notes", "not-like", json!("%secret%")),
            json!("public"),
            true,
        ),
        (
            cond("notes", "not-like", json!("%secret%")),
            json!("Top SECRET doc"),
            false,
        ),
        (
            cond("name", "begins-with", json!("con")),
            json!("Contoso"),
            true,
        ),
        (
            cond("name", "begins-with", json!("con%")),
            json!("Contoso"),
            false,
        ),
        (
            cond("name", "ends-with", json!("SO")),
            json!("Contoso"),
            true,
        ),
        (
            cond("name", "ends-with", json!("so")),
            json!("Contosa"),
            false,
        ),
        (conds("color", "in", json!([1, 7])), json!(7), true),
        (conds("color", "in", json!([1, 7])), json!(9), false),
        (conds("name", "in", json!(["A", "b"])), json!("B"), true),
        (conds("color", "not-in", json!([1, 7])), json!(9), true),
        (conds("color", "not-in", json!([1, 7])), json!(1), false),
        (
            json!({"Attribute": "name", "Operator": "null"}),
            json!(null),
            true,
        ),
        (
            json!({"Attribute": "name", "Operator": "null"}),
            json!("x"),
            false,
        ),
        (
            json!({"Attribute": "name", "Operator": "not-null"}),
            json!("x"),
            true,
        ),
        (
            json!({"Attribute": "name", "Operator": "not-null"}),
            json!(null),
            false,
        ),
        (conds("count", "between", json!([1, 10])), json!(10), true),
        (conds("count", "between", json!([1, 10])), json!(11), false),
        (
            conds("due", "between", json!(["2026-01-01", "2026-01-31"])),
            json!("2026-01-15T00:00:00Z"),
            true,
        ),
        (
            conds("count", "not-between", json!([1, 10])),
            json!(0),
            true,
        ),
        (
            conds("count", "not-between", json!([1, 10])),
            json!(1),
            false,
        ),
        (
            cond("due", "on", json!("2026-01-31")),
            json!("2026-01-31T23:59:59Z"),
            true,
        ),
        (
            cond("due", "on", json!("2026-01-31T10:00:00Z")),
            json!("2026-02-01T00:00:00Z"),
            false,
        ),
        (
            cond("birthday", "on", json!("2000-05-06")),
            json!("2000-05-06"),
            true,
        ),
        (
            cond("due", "on-or-after", json!("2026-01-31")),
            json!("2026-01-31T00:00:00Z"),
            true,
        ),
        (
            cond("due", "on-or-after", json!("2026-01-31")),
            json!("2026-01-30T23:59:59Z"),
            false,
        ),
        (
            cond("due", "on-or-before", json!("2026-01-31")),
            json!("2026-01-31T23:59:59Z"),
            true,
        ),
        (
            cond("due", "on-or-before", json!("2026-01-31")),
            json!("2026-02-01T00:00:00Z"),
            false,
        ),
        (
            cond("due", "last-x-hours", json!(2)),
            json!("2026-01-31T10:00:00Z"),
            true,
        ),
        (
            cond("due", "last-x-hours", json!(2)),
            json!("2026-01-31T09:59:59Z"),
            false,
        ),
        (
            cond("due", "last-x-hours", json!(2)),
            json!("2026-01-31T12:00:01Z"),
            false,
        ),
        (
            cond("due", "last-x-days", json!(1)),
            json!("2026-01-30T00:00:00Z"),
            true,
        ),
        (
            cond("due", "last-x-days", json!("1")),
            json!("2026-01-29T23:59:59Z"),
            false,
        ),
        (
            cond("due", "last-x-days", json!(1)),
            json!("2026-01-31T12:00:01Z"),
            false,
        ),
        (
            cond("birthday", "last-x-days", json!(1)),
            json!("2026-01-31"),
            true,
        ),
        (
            cond("due", "next-x-days", json!(1)),
            json!("2026-02-01T23:59:59.999Z"),
            true,
        ),
        (
            cond("due", "next-x-days", json!(1)),
            json!("2026-02-02T00:00:00Z"),
            false,
        ),
        (
            cond("due", "next-x-days", json!(1)),
            json!("2026-01-31T11:59:59Z"),
            false,
        ),
        (
            cond("birthday", "next-x-days", json!(1)),
            json!("2026-01-31"),
            true,
        ),
        (
            cond("birthday", "next-x-days", json!(1)),
            json!("2026-02-02"),
            false,
        ),
        (
            cond("due", "older-x-days", json!(1)),
            json!("2026-01-29T23:59:59Z"),
            true,
        ),
        (
            cond("due", "older-x-days", json!(1)),
            json!("2026-01-30T00:00:00Z"),
            false,
        ),
        (
            cond("birthday", "older-x-days", json!(1)),
            json!("2026-01-29"),
            true,
        ),
        (
            cond("ref", "eq", json!("0190F5C2-7A3B-7C1D-8E2F-123456789ABC")),
            json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc"),
            true,
        ),
        (
            cond("ref", "ne", json!("0190F5C2-7A3B-7C1D-8E2F-123456789ABC")),
            json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc"),
            false,
        ),
        (
            cond("owner", "eq", json!("acct-42")),
            json!("acct-42"),
            true,
        ),
        (
            cond("owner", "eq", json!("acct-42")),
            json!("ACCT-42"),
            false,
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (condition, value, expected) in table {
        let op = condition["Operator"].as_str().unwrap().to_owned();
        assert_eq!(
            eval(condition.clone(), value.clone()),
            expected,
            "{condition} on {value}"
        );
        seen.insert((op, expected));
    }
    for op in Operator::ALL {
        for expected in [true, false] {
            assert!(
                seen.contains(&(op.as_str().to_owned(), expected)),
                "{op} never evaluated to {expected}"
            );
        }
    }
}
