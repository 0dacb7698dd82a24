//! Docs of the `types` module: every type, field and body-builder setter (typify's
//! `types::builder`), from its schema.

use std::collections::BTreeMap;

use serde_json::Value;

use super::examples::{find_property, Examples};
use super::fields::{innermost, json_name, property_docs, UNDESCRIBED};
use super::spec::{collect_refs, resolve, RequestTypes};
use super::{docs_of, says_something, set_docs};

pub fn type_docs(
    items: &mut [syn::Item],
    spec: &Value,
    examples: &Examples,
    operations: &BTreeMap<String, &Value>,
    requests: &RequestTypes,
) {
    let components = spec["components"]["schemas"].as_object();
    // Each generated type's schema: named components first, then inline schemas through the
    // field of the type that holds them.
    let mut schemas: BTreeMap<String, (&Value, String)> = BTreeMap::new();
    for item in items.iter() {
        let name = match item {
            syn::Item::Struct(s) => s.ident.to_string(),
            syn::Item::Enum(e) => e.ident.to_string(),
            _ => continue,
        };
        if let Some(schema) = components.and_then(|c| c.get(&name)) {
            schemas.insert(name.clone(), (schema, usage(spec, &name, operations)));
        }
    }
    loop {
        let mut found = Vec::new();
        for item in items.iter() {
            let syn::Item::Struct(s) = item else { continue };
            let Some((schema, _)) = schemas.get(&s.ident.to_string()) else { continue };
            for field in &s.fields {
                let Some(inner) = innermost(&field.ty).filter(|t| !schemas.contains_key(t)) else { continue };
                let json = json_name(field);
                let Some((_, property)) = find_property(spec, schema, &json, 0) else { continue };
                let mut node = resolve(spec, property);
                while node["type"] == "array" {
                    node = resolve(spec, &node["items"]);
                }
                found.push((inner, (node, format!("The `{json}` of [`{}`].", s.ident))));
            }
        }
        let before = schemas.len();
        for (name, entry) in found {
            schemas.entry(name).or_insert(entry);
        }
        if schemas.len() == before {
            break;
        }
    }
    for item in items.iter_mut() {
        match item {
            syn::Item::Struct(s) => {
                let name = s.ident.to_string();
                let Some((schema, usage)) = schemas.get(&name) else { continue };
                let request = requests.includes(&name);
                if !says_something(&s.attrs, &name) {
                    let text = schema["description"].as_str().map(|d| format!("{}\n\n{usage}", d.trim())).unwrap_or_else(|| usage.clone());
                    set_docs(&mut s.attrs, &text);
                }
                for field in s.fields.iter_mut() {
                    let json = json_name(field);
                    let rust = field.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
                    if says_something(&field.attrs, &rust) {
                        // typify's doc is the description; add the unit and example it lacks.
                        if let Some((owner, property)) = find_property(spec, schema, &json, 0) {
                            let full = property_docs(spec, owner, &json, property, examples, request);
                            set_docs(&mut field.attrs, &full);
                        }
                        continue;
                    }
                    let mut text = match find_property(spec, schema, &json, 0) {
                        Some((owner, property)) => property_docs(spec, owner, &json, property, examples, request),
                        None => format!("`{json}` (extra fields Vandar sends, kept as they are)."),
                    };
                    // Undescribed, but of a generated type: point there.
                    if let Some(inner) = innermost(&field.ty).filter(|t| text.contains(UNDESCRIBED) && schemas.contains_key(t)) {
                        let list = quote::ToTokens::to_token_stream(&field.ty).to_string().contains("Vec <");
                        text = format!("The `{json}` {}: see [`{inner}`].", if list { "list" } else { "object" });
                    }
                    set_docs(&mut field.attrs, &text);
                }
            }
            syn::Item::Enum(e) => {
                let name = e.ident.to_string();
                if let Some((schema, usage)) = schemas.get(&name).filter(|_| !says_something(&e.attrs, &name)) {
                    let text = schema["description"].as_str().map(|d| format!("{}\n\n{usage}", d.trim())).unwrap_or_else(|| usage.clone());
                    set_docs(&mut e.attrs, &text);
                }
            }
            syn::Item::Impl(block) if block.trait_.is_none() => {
                let owner = quote::ToTokens::to_token_stream(&block.self_ty).to_string();
                for f in block.items.iter_mut().filter_map(|i| if let syn::ImplItem::Fn(f) = i { Some(f) } else { None }) {
                    if f.sig.ident == "builder" && docs_of(&f.attrs).is_empty() {
                        set_docs(&mut f.attrs, &format!("A builder for [`{owner}`], one setter per field."));
                    }
                }
            }
            _ => {}
        }
    }
    // The body builders' setters (typify's `types::builder`) say what their field says.
    let mut field_docs = BTreeMap::new();
    for item in items.iter() {
        let syn::Item::Struct(s) = item else { continue };
        for field in &s.fields {
            let Some(rust) = field.ident.as_ref().map(|i| i.to_string()) else { continue };
            field_docs.insert((s.ident.to_string(), rust), docs_of(&field.attrs));
        }
    }
    for item in items.iter_mut() {
        let syn::Item::Mod(module) = item else { continue };
        let Some((_, builders)) = module.content.as_mut().filter(|_| module.ident == "builder") else { continue };
        for block in builders.iter_mut().filter_map(|i| if let syn::Item::Impl(b) = i { Some(b) } else { None }) {
            if block.trait_.is_some() {
                continue;
            }
            let owner = quote::ToTokens::to_token_stream(&block.self_ty).to_string();
            for f in block.items.iter_mut().filter_map(|i| if let syn::ImplItem::Fn(f) = i { Some(f) } else { None }) {
                let name = f.sig.ident.to_string();
                let field = name.strip_prefix("maybe_").unwrap_or(&name);
                let Some(field_doc) = field_docs.get(&(owner.clone(), field.to_string())).filter(|d| !d.is_empty()) else { continue };
                // After the setter's own doc (how to call it), what the field is.
                let text = if docs_of(&f.attrs).is_empty() { field_doc.clone() } else { format!("\n\n{field_doc}") };
                f.attrs.push(syn::parse_quote!(#[doc = #text]));
            }
        }
    }
}

/// Where a named schema appears: the answer or body of which operations.
pub fn usage(spec: &Value, name: &str, operations: &BTreeMap<String, &Value>) -> String {
    let target = format!("#/components/schemas/{name}");
    let mut answers = Vec::new();
    let mut bodies = Vec::new();
    for op in operations.values() {
        let id = op["operationId"].as_str().unwrap_or_default();
        let mut refs = Vec::new();
        collect_refs(&op["requestBody"], &mut refs);
        if refs.contains(&target) {
            bodies.push(format!("`{id}`"));
        }
        refs.clear();
        for (_, response) in op["responses"].as_object().into_iter().flatten().filter(|(c, _)| c.starts_with('2')) {
            collect_refs(resolve(spec, response), &mut refs);
        }
        if refs.contains(&target) {
            answers.push(format!("`{id}`"));
        }
    }
    match (answers.is_empty(), bodies.is_empty()) {
        (false, _) => format!("The answer of {}.", answers.join(", ")),
        (true, false) => format!("The request body of {}.", bodies.join(", ")),
        (true, true) => {
            // Named schemas that refer to it: the types it is part of.
            let parents: Vec<String> = spec["components"]["schemas"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, schema)| {
                    let mut refs = Vec::new();
                    collect_refs(schema, &mut refs);
                    refs.contains(&target)
                })
                .map(|(parent, _)| format!("[`{parent}`]"))
                .collect();
            match parents.is_empty() {
                false => format!("Part of {}.", parents.join(", ")),
                true => format!("`{name}` in spec/vandar.yaml."),
            }
        }
    }
}
