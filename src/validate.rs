//! Checks a request body against the spec's bounds before it is sent (amount >= 1000 Rials for
//! ipg_send, >= 5000 Tomans for settlement_store, at most 10 cards, ...). Patterns and lengths are
//! enforced by the generated types themselves; typify does not enforce these.
use serde_json::Value;

/// A bound from the spec.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Constraint {
    Minimum(f64),
    Maximum(f64),
    MinItems(usize),
    MaxItems(usize),
}

include!(concat!(env!("OUT_DIR"), "/constraints.rs"));

/// The first bound `body` breaks for `operation`: (field, reason).
pub(crate) fn check(operation: &str, body: &Value) -> Result<(), (String, String)> {
    for (_, path, constraint) in CONSTRAINTS.iter().filter(|(op, _, _)| *op == operation) {
        let mut values = Vec::new();
        select(body, path.split('.').filter(|s| !s.is_empty()).collect::<Vec<_>>().as_slice(), &mut values);
        for value in values {
            let broken = match (constraint, value) {
                (Constraint::Minimum(min), Value::Number(n)) => n.as_f64().is_some_and(|n| n < *min).then(|| format!("must be at least {min}")),
                (Constraint::Maximum(max), Value::Number(n)) => n.as_f64().is_some_and(|n| n > *max).then(|| format!("must be at most {max}")),
                (Constraint::MinItems(min), Value::Array(items)) => (items.len() < *min).then(|| format!("needs at least {min} items")),
                (Constraint::MaxItems(max), Value::Array(items)) => (items.len() > *max).then(|| format!("takes at most {max} items")),
                _ => None,
            };
            if let Some(reason) = broken {
                return Err((path.replace("[]", ""), reason));
            }
        }
    }
    Ok(())
}

/// The values at `path` (`a.b[].c`), following arrays.
fn select<'a>(value: &'a Value, path: &[&str], out: &mut Vec<&'a Value>) {
    let Some((head, rest)) = path.split_first() else {
        out.push(value);
        return;
    };
    let (name, each) = match head.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (*head, false),
    };
    let Some(child) = (if name.is_empty() { Some(value) } else { value.get(name) }) else { return };
    match (each, child) {
        (true, Value::Array(items)) => items.iter().for_each(|item| select(item, rest, out)),
        (true, _) => {}
        (false, child) => select(child, rest, out),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_spec_bounds_are_checked() {
        assert_eq!(super::check("ipg_send", &json!({"amount": 999})).unwrap_err().0, "amount");
        assert!(super::check("ipg_send", &json!({"amount": 1000})).is_ok());
        let cards: Vec<String> = (0..11).map(|i| format!("60379912345678{i:02}")).collect();
        assert_eq!(super::check("ipg_send", &json!({"amount": 1000, "valid_card_number": cards})).unwrap_err().0, "valid_card_number");
        assert_eq!(super::check("settlement_store", &json!({"amount": 4999})).unwrap_err().0, "amount");
        let batch = json!({"batches_settlement": []});
        assert_eq!(super::check("batch_settlement_store", &batch).unwrap_err().0, "batches_settlement");
        assert!(super::check("transaction_list", &json!({})).is_ok());
    }
}
