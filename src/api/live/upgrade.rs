//! `GET /graphql/ws`: subscriptions over WebSocket, in graphql-transport-ws (the
//! graphql-ws library) or the legacy graphql-ws protocol (subscriptions-transport-ws),
//! chosen by subprotocol (graphql-transport-ws when none is asked for).
//!
//! The access token comes in the connection_init payload (`{"authorization": "Bearer
//! ..."}`); without one the socket is anonymous and sees only public topics. Closes:
//! 4400 malformed message, 4401 subscribe before connection_ack or token expired,
//! 4403 token refused or session revoked (a revocation on any instance arrives on the
//! event bus and closes the socket at once), 4408 no connection_init in time, 4409 a
//! subscription id already in use, 4429 a second connection_init, 1009 a message over
//! the size limit, 1008 a consumer too slow for its bounded buffer, 1013 ("try again
//! later") when the client's address or user already holds its limit of sockets (see
//! [`super::quota`]). A subscription over the client's total limit gets an `error`
//! message with code RATE_LIMITED, like one over the per-socket limit.

use std::time::Duration;

use async_graphql::http::WebSocketProtocols;
use poem::http::{header, StatusCode};
use poem::web::websocket::{WebSocket, WebSocketConfig};
use poem::web::Data as PoemData;
use poem::{handler, IntoResponse, Request, Response};

use super::quota::LiveQuotas;
use super::sessions::SessionWatch;
use super::ws::Session;
use crate::api::ApiState;
use crate::api::AppSchema;

/// Allowed browser origins: none given means "the page's own host", so a page elsewhere
/// cannot open a socket in a user's name. Clients without an Origin (apps, servers) are
/// not browsers and are let through.
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

/// Limits of one socket.
#[derive(Clone, Copy, Debug)]
pub struct WsLimits {
    pub init_timeout: Duration,
    pub keepalive: Duration,
    pub max_subscriptions: usize,
    pub max_message_bytes: usize,
    /// Messages waiting to be written before the consumer counts as too slow.
    pub buffer: usize,
    /// How often the socket's token is checked against the revocation list (revocation
    /// events close sockets at once; this catches events missed while Redis was away).
    pub recheck: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            init_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            max_subscriptions: 100,
            max_message_bytes: 64 << 10,
            buffer: 256,
            // A fallback: revocations arrive as events at once; this catches any missed
            // while Redis was away.
            recheck: Duration::from_secs(60),
        }
    }
}

// One extractor per piece of shared state the socket needs.
#[allow(clippy::too_many_arguments)]
#[handler]
pub async fn graphql_ws(
    req: &Request,
    websocket: WebSocket,
    PoemData(schema): PoemData<&AppSchema>,
    PoemData(state): PoemData<&ApiState>,
    PoemData(origins): PoemData<&WsOrigins>,
    PoemData(limits): PoemData<&WsLimits>,
    PoemData(sessions): PoemData<&SessionWatch>,
    PoemData(quotas): PoemData<&LiveQuotas>,
) -> Response {
    if !origin_allowed(req, &origins.0) {
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open GraphQL sockets",
        )
            .into_response();
    }
    let asked = req
        .header("sec-websocket-protocol")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>();
    let protocol = if !asked.contains(&"graphql-transport-ws") && asked.contains(&"graphql-ws") {
        WebSocketProtocols::SubscriptionsTransportWS
    } else {
        WebSocketProtocols::GraphQLWS
    };
    let client_key = crate::api::http::client_key(req);
    let session = Session {
        schema: schema.clone(),
        state: state.clone(),
        limits: *limits,
        legacy: protocol == WebSocketProtocols::SubscriptionsTransportWS,
        address_lease: quotas.open_from(&client_key),
        client_key,
        sessions: sessions.clone(),
        quotas: quotas.clone(),
    };
    // Small buffers: tungstenite's defaults (128 KiB each way) would cost every idle
    // subscriber a quarter of a megabyte. Frames are capped at 1 MiB before buffering;
    // the protocol loop then refuses anything over the configured message size.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 << 10)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20));
    websocket
        .config(config)
        .protocols(["graphql-transport-ws", "graphql-ws"])
        .on_upgrade(move |socket| session.run(socket))
        .into_response()
}
