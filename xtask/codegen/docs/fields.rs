//! One property's docs: its description, its unit (`x-vandar-unit`), its bounds (request fields
//! only) and the documents' example; and how a generated field maps back to its property.

use serde_json::Value;

use super::examples::Examples;
use super::spec::resolve;

/// A property's own `x-vandar-unit`, or its `allOf` parts' / `$ref` target's.
pub fn unit_of<'a>(spec: &'a Value, property: &'a Value) -> Option<&'a str> {
    let node = resolve(spec, property);
    node["x-vandar-unit"]
        .as_str()
        .or_else(|| node["allOf"].as_array().into_iter().flatten().find_map(|p| unit_of(spec, p)))
}

/// The spec's bounds on a property (its own and its `allOf` parts'), in words.
pub fn bounds_of(spec: &Value, property: &Value) -> Vec<String> {
    let node = resolve(spec, property);
    let mut words = Vec::new();
    for (keyword, text) in [("minimum", "at least"), ("maximum", "at most"), ("minLength", "at least"), ("maxLength", "at most"), ("maxItems", "at most")] {
        if let Some(n) = node.get(keyword).and_then(Value::as_f64) {
            let unit = match keyword {
                "minLength" | "maxLength" => " characters",
                "maxItems" => " items",
                _ => "",
            };
            words.push(format!("{text} {n}{unit}"));
        }
    }
    if let Some(pattern) = node["pattern"].as_str() {
        words.push(format!("matches `{pattern}`"));
    }
    for part in node["allOf"].as_array().into_iter().flatten() {
        words.extend(bounds_of(spec, part));
    }
    words
}

/// A property's description, or that of the schema it refers to.
pub fn description_of<'a>(spec: &'a Value, property: &'a Value) -> Option<&'a str> {
    property["description"]
        .as_str()
        .or_else(|| resolve(spec, property)["description"].as_str())
        .or_else(|| property["allOf"].as_array().into_iter().flatten().find_map(|p| resolve(spec, p)["description"].as_str()))
}

/// Marks a field the documents show without describing it (no description, unit or example).
pub const UNDESCRIBED: &str = "the documents show the field but do not describe it";

/// The doc of one property: its description, unit and documented example.
pub fn property_docs(spec: &Value, owner: &Value, name: &str, property: &Value, examples: &Examples, request: bool) -> String {
    let mut lines = Vec::new();
    let description = description_of(spec, property).map(str::trim).filter(|d| !d.is_empty());
    if let Some(description) = description {
        lines.push(description.to_string());
    }
    if let Some(unit) = unit_of(spec, property) {
        let unit = match unit {
            "rial" => "Rials",
            "toman" => "Tomans",
            other => panic!("x-vandar-unit {other:?} on {name}: build.rs knows rial and toman"),
        };
        if !description.is_some_and(|d| d.contains(&unit[..4])) {
            lines.push(format!("Unit: {unit}."));
        }
    }
    // Bounds are the spec's rules for what you send; an answer's field promises none.
    let bounds = if request { bounds_of(spec, property) } else { Vec::new() };
    if !bounds.is_empty() {
        lines.push(format!("Bounds: {}.", bounds.join(", ")));
    }
    if let Some(example) = examples.of(owner, name).filter(|e| !e.is_null()) {
        lines.push(format!("Example from Vandar's documents: `{example}`."));
    }
    if lines.is_empty() {
        lines.push(format!("`{name}`: {UNDESCRIBED}."));
    }
    lines.join("\n\n")
}

/// The JSON name of a generated field (`#[serde(rename = "..")]`, else the Rust name).
pub fn json_name(field: &syn::Field) -> String {
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let mut renamed = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                renamed = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            }
            Ok(())
        });
        if let Some(name) = renamed {
            return name;
        }
    }
    field.ident.as_ref().map(|i| i.to_string().trim_start_matches("r#").trim_end_matches('_').to_string()).unwrap_or_default()
}

/// The named type inside `Option<..>`, `Vec<..>`, `Box<..>`: `Option<Vec<Item>>` -> `Item`.
pub fn innermost(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
        if let Some(syn::GenericArgument::Type(inner)) = args.args.first() {
            return innermost(inner);
        }
    }
    (path.path.segments.len() == 1).then(|| last.ident.to_string())
}
