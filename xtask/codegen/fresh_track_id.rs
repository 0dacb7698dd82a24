//! Pass over typify's struct builders: the body of every money move (`x-vandar-money-move`, see
//! money_moves.rs) starts with its track_id already set to a fresh UUID, so a caller who forgets it
//! still sends an id the move can be found by afterwards, and the builder is the one owner of it.
//! For a batch, each item's builder starts its own `track_id`; the `batch_id` is the SHA-512 of the
//! items, which only the caller can compute once the items are final, so it is left alone.
//!
//! typify lacks it because a builder has no defaults for required fields (they start as "no value
//! supplied") and starts an optional one as `None`. Safe: the setter still overrides it
//! (`.track_id("order-1001")`, or `.maybe_track_id(None)` for an optional one), and the value the
//! caller reads from the body after `try_into()` is the one sent.

use super::money_moves::FreshId;

/// The pass: `ids` are the fields that start fresh, by their schema (builder) name.
pub struct FreshTrackId {
    pub ids: Vec<FreshId>,
}

impl FreshTrackId {
    fn fresh(&self, builder: &str, field: &str) -> Option<&FreshId> {
        self.ids.iter().find(|id| id.schema == builder && id.field == field)
    }
}

impl syn::visit_mut::VisitMut for FreshTrackId {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        // Only typify's `builder` module: the types' own `Default` impls are not builders.
        if module.ident != "builder" {
            return syn::visit_mut::visit_item_mod_mut(self, module);
        }
        for item in module.content.iter_mut().flat_map(|(_, items)| items) {
            let syn::Item::Impl(block) = item else { continue };
            let is_default = block.trait_.as_ref().is_some_and(|(_, t, _)| t.segments.last().is_some_and(|s| s.ident == "Default"));
            let syn::Type::Path(ty) = &*block.self_ty else { continue };
            let Some(builder) = ty.path.segments.last().map(|s| s.ident.to_string()).filter(|_| is_default) else { continue };
            for f in block.items.iter_mut() {
                let syn::ImplItem::Fn(f) = f else { continue };
                for stmt in f.block.stmts.iter_mut() {
                    let syn::Stmt::Expr(syn::Expr::Struct(init), _) = stmt else { continue };
                    for field in init.fields.iter_mut() {
                        let syn::Member::Named(name) = &field.member else { continue };
                        let Some(id) = self.fresh(&builder, &name.to_string()) else { continue };
                        field.expr = if id.required {
                            syn::parse_quote!(Ok(::uuid::Uuid::new_v4().to_string()))
                        } else {
                            syn::parse_quote!(Ok(Some(::uuid::Uuid::new_v4().to_string())))
                        };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn pass() -> FreshTrackId {
        FreshTrackId {
            ids: vec![
                FreshId { schema: "SettlementStoreRequest".into(), field: "track_id".into(), required: true },
                FreshId { schema: "WithdrawalStoreRequest".into(), field: "track_id".into(), required: false },
            ],
        }
    }

    /// The tokens of `impl Default for <ty>` in the builder module.
    fn builder_default(file: &syn::File, ty: &str) -> String {
        let text = file.to_token_stream().to_string();
        let builder = &text[text.find("pub mod builder").unwrap()..];
        let start = builder.find(&format!("Default for {ty} ")).unwrap();
        builder[start..].split("impl").next().unwrap().to_string()
    }

    #[test]
    fn a_money_moves_builder_starts_with_a_fresh_track_id() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                // A type's own Default (not a builder) is left alone.
                impl ::std::default::Default for WithdrawalStoreRequest {
                    fn default() -> Self { Self { track_id: Default::default() } }
                }
                pub mod builder {
                    impl ::std::default::Default for SettlementStoreRequest {
                        fn default() -> Self {
                            Self {
                                amount: Err("no value supplied for amount".to_string()),
                                track_id: Err("no value supplied for track_id".to_string()),
                            }
                        }
                    }
                    impl ::std::default::Default for WithdrawalStoreRequest {
                        fn default() -> Self {
                            Self { amount: Err("no value supplied for amount".to_string()), track_id: Ok(Default::default()) }
                        }
                    }
                    impl ::std::default::Default for IpgSendRequest {
                        fn default() -> Self { Self { track_id: Ok(Default::default()) } }
                    }
                }
            }
        };
        syn::visit_mut::VisitMut::visit_file_mut(&mut pass(), &mut file);
        let settlement = builder_default(&file, "SettlementStoreRequest");
        assert!(settlement.contains(r#"amount : Err ("no value supplied for amount" . to_string ())"#), "{settlement}");
        assert!(settlement.contains("track_id : Ok (:: uuid :: Uuid :: new_v4 () . to_string ())"), "{settlement}");
        // The optional one starts as Some; the type's own Default and other builders are unchanged.
        let withdrawal = builder_default(&file, "WithdrawalStoreRequest");
        assert!(withdrawal.contains("track_id : Ok (Some (:: uuid :: Uuid :: new_v4 () . to_string ()))"), "{withdrawal}");
        let text = file.to_token_stream().to_string();
        assert!(text.contains("Self { track_id : Default :: default () }"), "{text}");
        assert!(builder_default(&file, "IpgSendRequest").contains("track_id : Ok (Default :: default ())"), "{text}");
        assert_eq!(text.matches("new_v4").count(), 2);
    }
}
