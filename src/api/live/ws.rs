//! One open subscription socket: the protocol loop that reads client messages, the
//! writer that drains the socket's bounded buffer, and the tasks that run subscriptions.
//! The upgrade, origin check and limits are in [`super::upgrade`].

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use poem::web::websocket::{CloseCode, Message, WebSocketStream};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Sleep;

use super::protocol::{close, read_message, subscribe_request, ClientMessage, Close};
use super::quota::{Lease, LiveQuotas};
use super::sessions::{Registration, SessionWatch};
use super::upgrade::WsLimits;
use crate::api::ApiState;
use crate::api::AppSchema;
use crate::domain::auth::Viewer;
use crate::domain::DomainError;

/// One socket's settings and shared state, built by the upgrade handler.
pub(super) struct Session {
    pub(super) schema: AppSchema,
    pub(super) state: ApiState,
    pub(super) limits: WsLimits,
    /// The legacy graphql-ws protocol (subscriptions-transport-ws).
    pub(super) legacy: bool,
    pub(super) client_key: String,
    pub(super) sessions: SessionWatch,
    pub(super) quotas: LiveQuotas,
    /// This socket's place in its address's count; `None` when the address was full.
    pub(super) address_lease: Option<Lease>,
}

type Sink = SplitSink<WebSocketStream, Message>;

/// Where a subscription task writes: the socket's bounded buffer, and the socket loop's
/// notices that the subscription ended or its consumer is too slow.
#[derive(Clone)]
struct Outlet {
    out: mpsc::Sender<Message>,
    ended: mpsc::UnboundedSender<String>,
    slow: mpsc::UnboundedSender<()>,
}

/// What one socket holds while it is open.
struct Live {
    outlet: Outlet,
    subscriptions: HashMap<String, JoinHandle<()>>,
    /// Set by `connection_init`.
    viewer: Option<Viewer>,
    token: Option<String>,
    revocation: Option<Registration>,
    /// This socket's place in its user's count (signed-in sockets only).
    user_lease: Option<Lease>,
}

impl Session {
    fn text(value: Value) -> Message {
        Message::Text(value.to_string())
    }

    async fn authenticate(&self, payload: &Value) -> Result<(Viewer, Option<String>), DomainError> {
        let token = payload
            .get("authorization")
            .or_else(|| payload.get("Authorization"))
            .and_then(Value::as_str)
            // A bare token is accepted too: connection_init payloads vary by client.
            .map(|v| {
                crate::api::http::bearer_token(v)
                    .unwrap_or(v.trim())
                    .to_owned()
            })
            .filter(|t| !t.is_empty());
        match token {
            Some(token) => Ok((self.state.auth.authenticate(&token).await?, Some(token))),
            None => Ok((
                Viewer::Anonymous {
                    client_key: self.client_key.clone(),
                },
                None,
            )),
        }
    }

    /// Closes at once with 1013 when the client's address already holds its limit.
    async fn refuse_address(&self, mut sink: Sink) {
        metrics::counter!("reelgraph_ws_refused_total", "reason" => "address").increment(1);
        let reason = format!(
            "at most {} sockets and streams per address; close some and try again later",
            self.quotas.limits.sockets_per_client
        );
        let _ = sink
            .send(Message::Close(Some((CloseCode::from(1013), reason))))
            .await;
    }

    /// Writes the socket's bounded buffer out in order, up to and including a close.
    fn spawn_writer(mut sink: Sink, mut outgoing: mpsc::Receiver<Message>) -> JoinHandle<()> {
        tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                let closing = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || closing {
                    break;
                }
            }
            let _ = sink.close().await;
        })
    }

    pub(super) async fn run(self, socket: WebSocketStream) {
        let (sink, mut incoming) = socket.split();
        if self.address_lease.is_none() {
            return self.refuse_address(sink).await;
        }
        let (out, outgoing) = mpsc::channel::<Message>(self.limits.buffer);
        let writer = Self::spawn_writer(sink, outgoing);
        let (ended, mut ended_rx) = mpsc::unbounded_channel::<String>();
        let (slow, mut slow_rx) = mpsc::unbounded_channel::<()>();
        let mut live = Live {
            outlet: Outlet { out, ended, slow },
            subscriptions: HashMap::new(),
            viewer: None,
            token: None,
            revocation: None,
            user_lease: None,
        };
        let init_deadline = tokio::time::sleep(self.limits.init_timeout);
        tokio::pin!(init_deadline);
        let expiry = tokio::time::sleep(Duration::from_secs(u32::MAX as u64));
        tokio::pin!(expiry);
        let mut keepalive = tokio::time::interval_at(
            tokio::time::Instant::now() + self.limits.keepalive,
            self.limits.keepalive,
        );
        let mut recheck = tokio::time::interval(self.limits.recheck);
        metrics::gauge!("reelgraph_ws_sockets").increment(1.0);

        let reason: Close = loop {
            tokio::select! {
                _ = &mut init_deadline, if live.viewer.is_none() => {
                    break close(4408, "Connection initialisation timeout");
                }
                _ = &mut expiry, if live.token.is_some() => {
                    break close(4401, "the access token expired; reconnect with a fresh one");
                }
                _ = keepalive.tick() => {
                    if live.viewer.is_some() {
                        let ping = if self.legacy { json!({"type": "ka"}) } else { json!({"type": "ping"}) };
                        if live.outlet.out.try_send(Self::text(ping)).is_err() {
                            break close(1008, "consumer too slow");
                        }
                    }
                }
                _ = async { live.revocation.as_ref()?.revoked().await; Some(()) }, if live.revocation.is_some() => {
                    break close(4403, "the session was revoked");
                }
                _ = recheck.tick(), if live.token.is_some() => {
                    if let Some(t) = &live.token {
                        if let Err(DomainError::Unauthenticated(_)) = self.state.auth.authenticate(t).await {
                            break close(4403, "the session was revoked");
                        }
                    }
                }
                Some(id) = ended_rx.recv() => {
                    live.subscriptions.remove(&id);
                }
                Some(()) = slow_rx.recv() => {
                    break close(1008, "consumer too slow");
                }
                message = incoming.next() => {
                    let text = match message {
                        None | Some(Err(_)) => break None,
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) => break None,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Binary(_))) => break close(4400, "binary messages are not part of the protocol"),
                    };
                    if let Err(reason) = self.on_text(&mut live, &text, expiry.as_mut()).await {
                        break reason;
                    }
                }
            }
        };
        self.finish(live, reason, writer).await;
    }

    /// One text message from the client; `Err` ends the socket with that close.
    async fn on_text(
        &self,
        live: &mut Live,
        text: &str,
        expiry: Pin<&mut Sleep>,
    ) -> Result<(), Close> {
        match read_message(text, self.legacy, self.limits.max_message_bytes)? {
            ClientMessage::Init(payload) => self.on_init(live, &payload, expiry).await,
            ClientMessage::Ping => {
                let _ = live
                    .outlet
                    .out
                    .try_send(Self::text(json!({"type": "pong"})));
                Ok(())
            }
            ClientMessage::Pong => Ok(()),
            ClientMessage::Terminate => Err(close(1000, "terminated")),
            ClientMessage::Subscribe { id, payload } => self.on_subscribe(live, id, payload),
            ClientMessage::Complete { id } => {
                if let Some(task) = id.and_then(|id| live.subscriptions.remove(&id)) {
                    task.abort();
                }
                Ok(())
            }
        }
    }

    /// `connection_init`: authenticates once, takes the user's socket lease and arms the
    /// token's expiry and revocation watch.
    async fn on_init(
        &self,
        live: &mut Live,
        payload: &Value,
        expiry: Pin<&mut Sleep>,
    ) -> Result<(), Close> {
        if live.viewer.is_some() {
            return Err(close(4429, "Too many initialisation requests"));
        }
        let (viewer, token) = match self.authenticate(payload).await {
            Ok(found) => found,
            Err(e) => {
                if self.legacy {
                    let error =
                        json!({"type": "connection_error", "payload": {"message": e.to_string()}});
                    let _ = live.outlet.out.try_send(Self::text(error));
                }
                return Err(close(4403, "Forbidden"));
            }
        };
        let Some(lease) = self.quotas.open_for(&viewer) else {
            metrics::counter!("reelgraph_ws_refused_total", "reason" => "user").increment(1);
            return Err(close(
                1013,
                format!(
                    "at most {} sockets per user; close some and try again later",
                    self.quotas.limits.sockets_per_client
                ),
            ));
        };
        live.user_lease = lease;
        if let Viewer::User {
            expires_at,
            session,
            ..
        } = &viewer
        {
            live.revocation = Some(self.sessions.register(*session));
            let left = (*expires_at - chrono::Utc::now().timestamp()).max(0) as u64;
            expiry.reset(tokio::time::Instant::now() + Duration::from_secs(left));
        }
        live.viewer = Some(viewer);
        live.token = token;
        let _ = live
            .outlet
            .out
            .try_send(Self::text(json!({"type": "connection_ack"})));
        Ok(())
    }

    /// `subscribe`: starts the subscription, or answers with an `error` message when the
    /// socket's or the client's limit of subscriptions is reached.
    fn on_subscribe(
        &self,
        live: &mut Live,
        id: Option<String>,
        payload: Value,
    ) -> Result<(), Close> {
        let Some(viewer) = live.viewer.clone() else {
            return Err(close(4401, "Unauthorized"));
        };
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            return Err(close(4400, "a subscribe message needs an id"));
        };
        if live.subscriptions.contains_key(&id) {
            return Err(close(4409, format!("Subscriber for {id} already exists")));
        }
        let Some(request) = subscribe_request(payload) else {
            return Err(close(
                4400,
                "the subscribe payload is not a GraphQL request",
            ));
        };
        let refusal = if live.subscriptions.len() >= self.limits.max_subscriptions {
            Err(format!(
                "at most {} subscriptions per socket",
                self.limits.max_subscriptions
            ))
        } else {
            self.quotas.subscribe(&viewer).ok_or_else(|| {
                format!(
                    "at most {} subscriptions per {} across all sockets",
                    self.quotas.limits.subscriptions_per_client,
                    if viewer.user_id().is_some() {
                        "user"
                    } else {
                        "address"
                    },
                )
            })
        };
        let lease = match refusal {
            Ok(lease) => lease,
            Err(message) => {
                let error = json!([{ "message": message, "extensions": {"code": "RATE_LIMITED"} }]);
                let payload = if self.legacy { error[0].clone() } else { error };
                let message = json!({"type": "error", "id": id, "payload": payload});
                let _ = live.outlet.out.try_send(Self::text(message));
                return Ok(());
            }
        };
        let task = self.spawn_subscription(id.clone(), request, viewer, lease, live.outlet.clone());
        live.subscriptions.insert(id, task);
        Ok(())
    }

    /// Ends the socket: subscriptions stop, the close frame (if any) is queued, and the
    /// client's counts go back at once; a peer that stopped reading gets a few seconds for
    /// the close frame, not as long as TCP would wait.
    async fn finish(mut self, mut live: Live, reason: Close, mut writer: JoinHandle<()>) {
        for (_, task) in live.subscriptions.drain() {
            task.abort();
        }
        if let Some((code, reason)) = reason {
            let _ = live
                .outlet
                .out
                .try_send(Message::Close(Some((CloseCode::from(code), reason))));
        }
        drop(live);
        self.address_lease = None;
        if tokio::time::timeout(Duration::from_secs(5), &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
        metrics::gauge!("reelgraph_ws_sockets").decrement(1.0);
    }

    /// Runs one subscription, writing each result to the socket's bounded buffer; a full
    /// buffer ends the socket rather than growing memory.
    fn spawn_subscription(
        &self,
        id: String,
        request: async_graphql::Request,
        viewer: Viewer,
        lease: Lease,
        outlet: Outlet,
    ) -> JoinHandle<()> {
        let Outlet { out, ended, slow } = outlet;
        let schema = self.schema.clone();
        let state = self.state.clone();
        let legacy = self.legacy;
        tokio::spawn(async move {
            let _counted = lease;
            let _live = LiveSubscription::new(&state);
            let request = crate::api::http::with_request_data(request, &state, &viewer);
            let mut results = schema.execute_stream(request);
            while let Some(response) = results.next().await {
                let kind = if legacy { "data" } else { "next" };
                let message = json!({"type": kind, "id": id, "payload": response});
                if out.try_send(Session::text(message)).is_err() {
                    let _ = slow.send(());
                    return;
                }
            }
            let _ = out.try_send(Session::text(json!({"type": "complete", "id": id})));
            let _ = ended.send(id);
        })
    }
}

/// Counts a live subscription while it exists (also when its task is aborted).
pub struct LiveSubscription(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl LiveSubscription {
    pub fn new(state: &ApiState) -> Self {
        let counter = state.dashboard.subscription_counter();
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("reelgraph_subscriptions").increment(1.0);
        Self(counter)
    }
}

impl Drop for LiveSubscription {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("reelgraph_subscriptions").decrement(1.0);
    }
}
