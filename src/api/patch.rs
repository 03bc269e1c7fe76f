//! Optional GraphQL input fields to the patches the use cases take.

use async_graphql::MaybeUndefined;

/// Left out keeps a field (`None`), `null` clears it (`Some(None)`), a value sets it.
pub fn patch<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
