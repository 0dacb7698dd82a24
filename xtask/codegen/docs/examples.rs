//! The example values Vandar's documents show for each property, keyed by the schema node that
//! declares it: the last line of a field's docs ("Example from Vandar's documents: ...").

use std::collections::BTreeMap;

use serde_json::Value;

use super::spec::{operations, resolve};

/// The example values the documents show for each property, keyed by the schema that declares it.
pub struct Examples(BTreeMap<(usize, String), Value>);

impl Examples {
    pub fn collect(spec: &Value) -> Self {
        let mut found = BTreeMap::new();
        for (_, _, op) in operations(spec) {
            let bodies = std::iter::once(resolve(spec, &op["requestBody"]))
                .chain(op["responses"].as_object().into_iter().flatten().filter(|(c, _)| c.starts_with('2')).map(|(_, r)| resolve(spec, r)));
            for body in bodies {
                for media in body["content"].as_object().into_iter().flatten().map(|(_, m)| m) {
                    if let Some(example) = media.get("example") {
                        walk_example(spec, &media["schema"], example, &mut found, 0);
                    }
                }
            }
        }
        Examples(found)
    }

    pub fn of(&self, owner: &Value, property: &str) -> Option<&Value> {
        self.0.get(&(owner as *const Value as usize, property.to_string()))
    }
}

pub fn walk_example(spec: &Value, schema: &Value, example: &Value, found: &mut BTreeMap<(usize, String), Value>, depth: usize) {
    if depth > 12 {
        return;
    }
    match example {
        Value::Object(fields) => {
            for (name, value) in fields {
                let Some((owner, property)) = find_property(spec, schema, name, 0) else { continue };
                if !value.is_object() && !value.is_array() {
                    found.entry((owner as *const Value as usize, name.clone())).or_insert_with(|| value.clone());
                }
                walk_example(spec, property, value, found, depth + 1);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                walk_example(spec, &resolve(spec, schema)["items"], first, found, depth + 1);
            }
        }
        _ => {}
    }
}

/// The schema node that declares `name` among its properties (through `$ref`, `allOf`, `oneOf`,
/// `anyOf`), and the property.
pub fn find_property<'a>(spec: &'a Value, schema: &'a Value, name: &str, depth: usize) -> Option<(&'a Value, &'a Value)> {
    let schema = resolve(spec, schema);
    if depth > 8 {
        return None;
    }
    if let Some(property) = schema["properties"].get(name) {
        return Some((schema, property));
    }
    ["allOf", "oneOf", "anyOf"]
        .iter()
        .flat_map(|k| schema[*k].as_array().into_iter().flatten())
        .find_map(|part| find_property(spec, part, name, depth + 1))
}
