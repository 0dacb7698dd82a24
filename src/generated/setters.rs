//! Setters named for what they take, where the spec's parameter name misleads. Each calls the
//! generated setter, so the wire name stays the spec's (Vandar's own) and the generated docs of
//! both point at each other. One row per misleading name; hand-written beside the generated code,
//! never inside it.

#[cfg(feature = "api")]
impl crate::generated::api::builder::SettlementCancel<'_> {
    /// The settlement's **transaction** id: `transaction_id` of `settlement_store`'s answer
    /// ([`crate::money::Tracked::transaction_id`]), not its UUID. Vandar's path names it
    /// `settlement_id` (and the generated `.settlement_id(..)` is the same setter);
    /// [`crate::Client::cancel_settlement`] takes `settlement_store`'s result directly.
    pub fn transaction_id(self, transaction_id: i64) -> Self {
        self.settlement_id(transaction_id)
    }
}
