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
        // The HTTP handler always inserts a viewer; schema-only uses (SDL export) never
        // resolve fields.
        static ANONYMOUS: std::sync::OnceLock<Viewer> = std::sync::OnceLock::new();
        self.data_opt::<Viewer>().unwrap_or_else(|| {
            ANONYMOUS.get_or_init(|| Viewer::Anonymous {
                client_key: "unknown".into(),
            })
        })
    }

    fn state(&self) -> &AppState {
        // Inserted by `schema::build` on the schema itself.
        self.data_unchecked::<AppState>()
    }
}
