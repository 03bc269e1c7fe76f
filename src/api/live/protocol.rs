//! The client's side of both WebSocket protocols (graphql-transport-ws and the legacy
//! graphql-ws), read from one text message before the socket's state is consulted.

use serde_json::Value;

/// Why a session ends: a close frame to send, or nothing (the peer went away).
pub(crate) type Close = Option<(u16, String)>;

pub(crate) fn close(code: u16, reason: impl Into<String>) -> Close {
    Some((code, reason.into()))
}

/// A client message of either protocol, as read before the socket's state is consulted
/// (whether it was initialised, which ids are in use).
#[derive(Debug)]
pub(crate) enum ClientMessage {
    /// `connection_init`, with its payload (`null` when there is none).
    Init(Value),
    Ping,
    Pong,
    /// The legacy protocol's `connection_terminate`.
    Terminate,
    /// `subscribe` (`start` in the legacy protocol): the payload is read as a GraphQL
    /// request only once the socket may subscribe (see [`subscribe_request`]).
    Subscribe {
        id: Option<String>,
        payload: Value,
    },
    /// `complete` (`stop` in the legacy protocol).
    Complete {
        id: Option<String>,
    },
}

/// Reads one text message of the protocol the socket speaks (`legacy`: the old graphql-ws
/// one), or the close it deserves: 1009 over `max_bytes`, 4400 for anything that is not a
/// message of that protocol.
pub(crate) fn read_message(
    text: &str,
    legacy: bool,
    max_bytes: usize,
) -> Result<ClientMessage, Close> {
    if text.len() > max_bytes {
        return Err(close(
            1009,
            format!("messages are limited to {max_bytes} bytes"),
        ));
    }
    let Ok(mut message) = serde_json::from_str::<Value>(text) else {
        return Err(close(4400, "Invalid message received"));
    };
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = message.get("id").and_then(Value::as_str).map(str::to_owned);
    let payload = message
        .get_mut("payload")
        .map(Value::take)
        .unwrap_or(Value::Null);
    Ok(match (kind.as_str(), legacy) {
        ("connection_init", _) => ClientMessage::Init(payload),
        ("ping", false) => ClientMessage::Ping,
        ("pong", false) => ClientMessage::Pong,
        ("connection_terminate", true) => ClientMessage::Terminate,
        ("subscribe", false) | ("start", true) => ClientMessage::Subscribe { id, payload },
        ("complete", false) | ("stop", true) => ClientMessage::Complete { id },
        _ => return Err(close(4400, "Invalid message received")),
    })
}

/// The GraphQL request a subscribe message carries, if its payload is one.
pub(crate) fn subscribe_request(payload: Value) -> Option<async_graphql::Request> {
    serde_json::from_value(payload).ok()
}
