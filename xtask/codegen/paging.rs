//! Pass over progenitor's output: every list operation's builder gets `.items()` and `.pages()`,
//! streams across pages (`crate::paging`), through an impl of `crate::paging::Paged` placed in the
//! builder module (it reads the builder's `page` and `per_page`).
//!
//! progenitor lacks it because OpenAPI has no paging vocabulary; the spec's paging components say
//! which style each list uses. Safe: each page is one ordinary `send()`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::spec::{camel, operations, resolve};

pub fn add_paging(file: &mut syn::File, lists: &[ListOperation]) -> Result<(), String> {
    let mut structs = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Mod(module) = item else { continue };
        if module.ident != "types" {
            continue;
        }
        for item in module.content.iter().flat_map(|(_, items)| items) {
            if let syn::Item::Struct(s) = item {
                structs.insert(s.ident.to_string(), s.fields.iter().cloned().collect::<Vec<_>>());
            }
        }
    }
    let mut added: Vec<syn::Item> = Vec::new();
    for list in lists {
        let item = item_type(&structs, &list.answer, &list.items)
            .ok_or_else(|| format!("paging: no item type at {} in {}", list.items, list.answer))?;
        let builder = syn::Ident::new(&list.builder, proc_macro2::Span::call_site());
        let answer = syn::Ident::new(&list.answer, proc_macro2::Span::call_site());
        let style = syn::Ident::new(list.style, proc_macro2::Span::call_site());
        let (paging, items) = (&list.paging, &list.items);
        let page = if list.start_after { quote::quote!(None) } else { quote::quote!(self.page.as_ref().ok().copied().flatten()) };
        let per_page = if list.per_page { quote::quote!(self.per_page.as_ref().ok().copied().flatten()) } else { quote::quote!(None) };
        let at = match (list.start_after, list.style) {
            (true, _) => quote::quote! {
                match position {
                    crate::paging::Position::After(id) => self.start_after(id),
                    crate::paging::Position::Page(_) => self,
                }
            },
            _ => quote::quote! {
                match position {
                    crate::paging::Position::Page(number) => self.page(number),
                    crate::paging::Position::After(_) => self,
                }
            },
        };
        let size = if list.per_page { "the page size set with `per_page`" } else { "Vandar's fixed page size" };
        let items_doc = format!(" Every item of the list, page after page ({size}), as a stream; see [`crate::paging`].");
        let pages_doc = format!(" Every page's answer, as a stream ({size}); see [`crate::paging`].");
        added.push(syn::parse_quote! {
            impl<'a> crate::paging::Paged<'a> for #builder<'a> {
                type Page = types::#answer;
                type Item = #item;
                const STYLE: crate::paging::Style = crate::paging::Style::#style;
                const PAGING: &'static str = #paging;
                const ITEMS: &'static str = #items;
                fn requested(&self) -> (Option<i64>, Option<i64>) {
                    (#page, #per_page)
                }
                fn at(self, position: crate::paging::Position) -> Self {
                    #at
                }
                fn fetch(self) -> futures::future::BoxFuture<'a, Result<Self::Page, crate::Error>> {
                    Box::pin(self.send())
                }
            }
        });
        added.push(syn::parse_quote! {
            impl<'a> #builder<'a> {
                #[doc = #items_doc]
                pub fn items(self) -> futures::stream::BoxStream<'a, Result<#item, crate::Error>> {
                    crate::paging::items(self)
                }
                #[doc = #pages_doc]
                pub fn pages(self) -> futures::stream::BoxStream<'a, Result<types::#answer, crate::Error>> {
                    crate::paging::pages(self)
                }
            }
        });
    }
    let builder = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == "builder" => module.content.as_mut(),
        _ => None,
    });
    match builder {
        Some((_, items)) => items.extend(added),
        None if added.is_empty() => {}
        None => return Err("paging: progenitor's builder module not found".into()),
    }
    Ok(())
}

/// A list operation, as auto-paging (`crate::paging`) needs it.
pub struct ListOperation {
    /// progenitor's builder type: the operationId in UpperCamelCase.
    builder: String,
    /// The answer's schema name (the generated type).
    answer: String,
    style: &'static str,
    /// JSON pointers to the paging fields' object and to the items array.
    paging: String,
    items: String,
    per_page: bool,
    start_after: bool,
}

/// Every operation with a `page` or `start_after` parameter, with the spec's paging component
/// found in its answer (`FlatPaginator`, `ResourcePage`, `CursorPage`), or none (`Unmarked`).
pub fn list_operations(spec: &Value) -> Vec<ListOperation> {
    let mut lists = Vec::new();
    for (_, _, op) in operations(spec) {
        let params: Vec<&str> = op["parameters"].as_array().into_iter().flatten().filter_map(|p| resolve(spec, p)["name"].as_str()).collect();
        if !params.iter().any(|p| *p == "page" || *p == "start_after") {
            continue;
        }
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        let Some(answer) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) else { continue };
        let (style, paging) = paging_component(spec, schema, "", 0).unwrap_or(("Unmarked", String::new()));
        let items = if style == "Unmarked" { first_array(spec, schema, "", 0).unwrap_or_default() } else { format!("{paging}/data") };
        let id = op["operationId"].as_str().unwrap_or_default();
        lists.push(ListOperation {
            builder: camel(id),
            answer: answer.to_string(),
            style,
            paging,
            items,
            per_page: params.contains(&"per_page"),
            start_after: params.contains(&"start_after"),
        });
    }
    lists
}

fn paging_component(spec: &Value, schema: &Value, at: &str, depth: usize) -> Option<(&'static str, String)> {
    let schema = resolve(spec, schema);
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let style = match part["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            Some("FlatPaginator") => Some("Flat"),
            Some("ResourcePage") => Some("Resource"),
            Some("CursorPage") => Some("Cursor"),
            _ => None,
        };
        if let Some(style) = style {
            return Some((style, at.to_string()));
        }
        if let Some(found) = paging_component(spec, part, at, depth + 1).filter(|_| depth < 6) {
            return Some(found);
        }
    }
    schema["properties"].as_object().into_iter().flatten().filter(|_| depth < 6).find_map(|(name, property)| {
        paging_component(spec, property, &format!("{at}/{name}"), depth + 1)
    })
}

fn first_array(spec: &Value, schema: &Value, at: &str, depth: usize) -> Option<String> {
    let schema = resolve(spec, schema);
    if schema["type"] == "array" {
        return Some(at.to_string());
    }
    schema["properties"].as_object().into_iter().flatten().filter(|_| depth < 6).find_map(|(name, property)| {
        first_array(spec, property, &format!("{at}/{name}"), depth + 1)
    })
}

/// The generated type of the items at `pointer` in the answer type `answer`: follows the `types`
/// module's struct fields, through `Option` and into the `Vec`.
fn item_type(structs: &BTreeMap<String, Vec<syn::Field>>, answer: &str, pointer: &str) -> Option<syn::Type> {
    let mut current = answer.to_string();
    let segments: Vec<&str> = pointer.split('/').filter(|s| !s.is_empty()).collect();
    for (i, segment) in segments.iter().enumerate() {
        let field = structs.get(&current)?.iter().find(|f| f.ident.as_ref().is_some_and(|id| id == segment))?;
        let ty = unwrap_generic(&field.ty, "Option").unwrap_or_else(|| field.ty.clone());
        if i + 1 == segments.len() {
            let item = unwrap_generic(&ty, "Vec")?;
            return Some(match &item {
                syn::Type::Path(p) if p.path.segments.len() == 1 => syn::parse_quote!(types::#item),
                _ => item,
            });
        }
        let syn::Type::Path(path) = ty else { return None };
        current = path.path.segments.last()?.ident.to_string();
    }
    None
}

fn unwrap_generic(ty: &syn::Type, name: &str) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last().filter(|s| s.ident == name)?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use serde_json::json;

    fn small_spec() -> Value {
        json!({
            "paths": {"/settlements": {"get": {
                "operationId": "settlement_list",
                "parameters": [{"$ref": "#/components/parameters/page"}, {"name": "per_page", "in": "query"}],
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/SettlementPage"}}}}}
            }}},
            "components": {
                "parameters": {"page": {"name": "page", "in": "query"}},
                "schemas": {
                    "FlatPaginator": {"type": "object"},
                    "SettlementPage": {"properties": {"data": {"properties": {"settlements": {"allOf": [{"$ref": "#/components/schemas/FlatPaginator"}]}}}}}
                }
            }
        })
    }

    #[test]
    fn a_list_is_found_with_its_paging_style_and_items() {
        let lists = list_operations(&small_spec());
        assert_eq!(lists.len(), 1);
        let list = &lists[0];
        assert_eq!((list.builder.as_str(), list.answer.as_str(), list.style), ("SettlementList", "SettlementPage", "Flat"));
        assert_eq!((list.paging.as_str(), list.items.as_str()), ("/data/settlements", "/data/settlements/data"));
        assert!(list.per_page && !list.start_after);
    }

    #[test]
    fn a_lists_builder_gets_items_and_pages() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct SettlementPage { pub data: SettlementPageData }
                pub struct SettlementPageData { pub settlements: ::std::option::Option<SettlementPageDataSettlements> }
                pub struct SettlementPageDataSettlements { pub data: ::std::vec::Vec<Settlement> }
            }
            pub mod builder {}
        };
        add_paging(&mut file, &list_operations(&small_spec())).unwrap();
        let text = file.to_token_stream().to_string();
        assert!(text.contains("impl < 'a > crate :: paging :: Paged < 'a > for SettlementList < 'a >"), "{text}");
        assert!(text.contains("type Item = types :: Settlement ;"), "{text}");
        assert!(text.contains("const STYLE : crate :: paging :: Style = crate :: paging :: Style :: Flat ;"), "{text}");
        assert!(text.contains("pub fn items (self) -> futures :: stream :: BoxStream < 'a , Result < types :: Settlement , crate :: Error > >"), "{text}");
        assert!(text.contains("pub fn pages (self)"), "{text}");
    }
}
