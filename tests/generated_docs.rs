//! Every generated item a user meets in docs.rs carries a doc that says more than its own name:
//! operation builders' methods, body builders' setters, types and their fields. Counted over the
//! code build.rs generates for every host; `cargo test --test generated_docs -- --nocapture`
//! prints the table.

use std::collections::BTreeMap;

/// (documented, undocumented examples) per kind of item.
#[derive(Default)]
struct Tally {
    kinds: BTreeMap<&'static str, (usize, usize, Vec<String>)>,
    /// Items whose doc only says the documents show them without describing them.
    undescribed: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn count_doc(&mut self, kind: &'static str, attrs: &[syn::Attribute], name: &str, what: impl FnOnce() -> String) {
        if doc_text(attrs).contains("the documents show the field but do not describe it") && !doc_text(attrs).contains("Example") {
            *self.undescribed.entry(kind).or_default() += 1;
        }
        self.count(kind, says_something(attrs, name), what);
    }

    fn count(&mut self, kind: &'static str, documented: bool, what: impl FnOnce() -> String) {
        let entry = self.kinds.entry(kind).or_default();
        if documented {
            entry.0 += 1;
        } else {
            entry.1 += 1;
            if entry.2.len() < 5 {
                entry.2.push(what());
            }
        }
    }
}

fn doc_text(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
                // `#[doc = concat!(..)]` and the like: a doc, built at compile time.
                _ => Some("(computed)".into()),
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A doc that says something: not empty, and not only the item's own name (typify's fallback).
fn says_something(attrs: &[syn::Attribute], name: &str) -> bool {
    let text = doc_text(attrs);
    let words: String = text.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    !words.is_empty() && words != name.replace('_', "").to_lowercase()
}

fn tally_items(items: &[syn::Item], module: &str, tally: &mut Tally) {
    for item in items {
        match item {
            syn::Item::Mod(m) => {
                let inner = if module.is_empty() { m.ident.to_string() } else { format!("{module}::{}", m.ident) };
                tally_items(m.content.as_ref().map(|(_, i)| i.as_slice()).unwrap_or(&[]), &inner, tally);
            }
            syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) && module == "types" => {
                tally.count("types", says_something(&s.attrs, &s.ident.to_string()), || s.ident.to_string());
                for field in s.fields.iter().filter(|f| matches!(f.vis, syn::Visibility::Public(_))) {
                    let name = field.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
                    tally.count_doc("type fields", &field.attrs, &name, || format!("{}.{name}", s.ident));
                }
            }
            syn::Item::Enum(e) if module == "types" => {
                tally.count("types", says_something(&e.attrs, &e.ident.to_string()), || e.ident.to_string());
            }
            syn::Item::Impl(block) if block.trait_.is_none() && (module == "builder" || module == "types::builder") => {
                let kind = if module == "builder" { "operation builder methods" } else { "body builder setters" };
                let owner = quote::ToTokens::to_token_stream(&block.self_ty).to_string();
                for f in block.items.iter().filter_map(|i| match i {
                    syn::ImplItem::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) && f.sig.ident != "new" => Some(f),
                    _ => None,
                }) {
                    tally.count_doc(kind, &f.attrs, &f.sig.ident.to_string(), || format!("{owner}::{}", f.sig.ident));
                }
            }
            _ => {}
        }
    }
}

#[test]
fn every_generated_item_has_a_doc_beyond_its_name() {
    let hosts: &[(&str, &str)] = &[
        #[cfg(feature = "api")]
        ("api", include_str!(concat!(env!("OUT_DIR"), "/api.rs"))),
        #[cfg(feature = "ipg")]
        ("ipg", include_str!(concat!(env!("OUT_DIR"), "/ipg.rs"))),
        #[cfg(feature = "batch")]
        ("batch", include_str!(concat!(env!("OUT_DIR"), "/batch.rs"))),
        #[cfg(feature = "subscription")]
        ("subscription", include_str!(concat!(env!("OUT_DIR"), "/subscription.rs"))),
    ];
    let mut tally = Tally::default();
    for (host, code) in hosts {
        let file = syn::parse_file(code).unwrap_or_else(|e| panic!("{host}: {e}"));
        tally_items(&file.items, "", &mut tally);
    }
    let mut missing = Vec::new();
    println!("{:<28} {:>10} {:>12} {:>26}", "generated item", "documented", "undocumented", "of which only 'undescribed'");
    for (kind, (documented, undocumented, examples)) in &tally.kinds {
        let marked = tally.undescribed.get(kind).copied().unwrap_or(0);
        println!("{kind:<28} {documented:>10} {undocumented:>12} {marked:>26}");
        if *undocumented > 0 {
            missing.push(format!("{kind}: {undocumented} without a doc, e.g. {examples:?}"));
        }
    }
    assert!(tally.kinds.values().map(|k| k.0 + k.1).sum::<usize>() > 1000, "the walk found the generated items");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
