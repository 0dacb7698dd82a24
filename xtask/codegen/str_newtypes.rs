//! Pass over typify's types: every string newtype (`Mobile`, `Iban`, ...) converts from `&str` too,
//! so a setter takes a literal (`.mobile_number("09123456789")`).
//!
//! typify lacks it because it emits `From<String>` only for a newtype without checks; this copy of
//! the spec has none (see bounds.rs). Safe: the same conversion as `From<String>`.

/// The pass (see the module docs).
pub struct StrNewtypes;

impl syn::visit_mut::VisitMut for StrNewtypes {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        if let Some((_, items)) = &mut module.content {
            let string: syn::Type = syn::parse_quote!(::std::string::String);
            let newtypes: Vec<syn::Ident> = items
                .iter()
                .filter_map(|item| match item {
                    syn::Item::Struct(s) => match &s.fields {
                        syn::Fields::Unnamed(f) if f.unnamed.len() == 1 && f.unnamed[0].ty == string => Some(s.ident.clone()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            let has_from_str = |name: &syn::Ident| {
                items.iter().any(|item| matches!(item, syn::Item::Impl(i)
                    if *name == quote::ToTokens::to_token_stream(&i.self_ty).to_string()
                        && i.trait_.as_ref().is_some_and(|(_, t, _)| quote::ToTokens::to_token_stream(t).to_string().contains("From < & str >"))))
            };
            let missing: Vec<syn::Ident> = newtypes.into_iter().filter(|n| !has_from_str(n)).collect();
            for name in missing {
                items.push(syn::parse_quote! {
                    impl ::std::convert::From<&str> for #name {
                        fn from(value: &str) -> Self {
                            Self(value.to_string())
                        }
                    }
                });
            }
        }
        syn::visit_mut::visit_item_mod_mut(self, module);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn a_string_newtype_without_from_str_gets_one() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct Mobile(pub ::std::string::String);
                pub struct Iban(pub ::std::string::String);
                impl ::std::convert::From<&str> for Iban {
                    fn from(value: &str) -> Self { Self(value.to_string()) }
                }
                pub struct Count(pub i64);
            }
        };
        syn::visit_mut::VisitMut::visit_file_mut(&mut StrNewtypes, &mut file);
        let text = file.to_token_stream().to_string();
        assert!(text.contains("impl :: std :: convert :: From < & str > for Mobile"), "{text}");
        assert_eq!(text.matches("From < & str > for Iban").count(), 1, "{text}");
        assert!(!text.contains("for Count"), "{text}");
    }
}
