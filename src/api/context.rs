//! What every resolver can read from the request: the viewer and the app state.

use async_graphql::Context;

use crate::api::ApiState;
use crate::domain::auth::Viewer;

pub trait ContextExt {
    fn viewer(&self) -> &Viewer;
    fn state(&self) -> &ApiState;
}

impl ContextExt for Context<'_> {
    fn viewer(&self) -> &Viewer {
        // Inserted into every request by the HTTP handler.
        self.data_unchecked::<Viewer>()
    }

    fn state(&self) -> &ApiState {
        // Inserted by `schema::build_schema` on the schema itself.
        self.data_unchecked::<ApiState>()
    }
}
