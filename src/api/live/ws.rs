//! `GET /graphql/ws`: subscriptions over WebSocket, in graphql-transport-ws or the legacy
//! graphql-ws protocol (chosen by subprotocol). The access token comes in the
//! connection_init payload (`{"authorization": "Bearer ..."}`); without one the socket is
//! anonymous and sees only public topics.

use std::time::Duration;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::Data;
use async_graphql_poem::{GraphQLProtocol, GraphQLWebSocket};
use poem::http::{header, StatusCode};
use poem::web::websocket::WebSocket;
use poem::web::Data as PoemData;
use poem::{handler, IntoResponse, Request, Response};

use crate::api::AppSchema;
use crate::domain::auth::Viewer;
use crate::startup::AppState;

/// Allowed browser origins: none given means "the page's own host", so a page elsewhere
/// cannot ride a user's cookies or tokens into a socket. Clients without an Origin
/// (apps, servers) are not browsers and are let through.
fn origin_allowed(req: &Request, allowed: &[String]) -> bool {
    let Some(origin) = req.header(header::ORIGIN) else {
        return true;
    };
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = req.header(header::HOST).unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

/// Origins allowed to open sockets besides the server's own.
#[derive(Clone, Default)]
pub struct WsOrigins(pub Vec<String>);

#[handler]
pub async fn graphql_ws(
    req: &Request,
    protocol: GraphQLProtocol,
    websocket: WebSocket,
    PoemData(schema): PoemData<&AppSchema>,
    PoemData(state): PoemData<&AppState>,
    PoemData(origins): PoemData<&WsOrigins>,
) -> Response {
    if !origin_allowed(req, &origins.0) {
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open GraphQL sockets",
        )
            .into_response();
    }
    let schema = schema.clone();
    let state = state.clone();
    let client_key = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    websocket
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload: serde_json::Value| async move {
                    let token = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(|v| v.as_str())
                        .map(|v| {
                            v.trim_start_matches("Bearer ")
                                .trim_start_matches("bearer ")
                                .trim()
                                .to_owned()
                        });
                    let viewer =
                        match token {
                            Some(token) if !token.is_empty() => state
                                .auth
                                .authenticate(&token)
                                .await
                                .map_err(|e| async_graphql::Error::new(e.to_string()))?,
                            _ => Viewer::Anonymous { client_key },
                        };
                    let mut data = Data::default();
                    data.insert(viewer);
                    Ok(data)
                })
                .keepalive_timeout(Duration::from_secs(60))
                .serve()
        })
        .into_response()
}
