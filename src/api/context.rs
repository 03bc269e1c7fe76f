//! What every resolver can read from the request: the viewer and the app state.

use async_graphql::Context;

use crate::domain::auth::Viewer;
use crate::startup::AppState;

pub trait ContextExt {
    fn viewer(&self) -> &Viewer;
    fn state(&self) -> &AppState;
}

impl ContextExt for Context<'_> {
    fn viewer(&self) -> &Viewer {
        // Inserted into every request by the HTTP handler.
        self.data_unchecked::<Viewer>()
    }

    fn state(&self) -> &AppState {
        // Inserted by `schema::build_schema` on the schema itself.
        self.data_unchecked::<AppState>()
    }
}
