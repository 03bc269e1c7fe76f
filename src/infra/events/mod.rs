//! The event bus: a tokio broadcast channel in-process, and Redis pub/sub in front of it
//! when REDIS_URL is set, so an event raised on one instance reaches subscribers on all.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::broadcast;

use crate::domain::events::{Event, EventBus};

/// Events a slow subscriber may fall behind by before it skips the oldest.
const CAPACITY: usize = 4096;

fn receiver_stream(rx: broadcast::Receiver<Event>) -> BoxStream<'static, Event> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => return Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a subscriber fell behind and skipped events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .boxed()
}

/// One process: publish and subscribe on a broadcast channel.
#[derive(Clone)]
pub struct LocalBus {
    sender: broadcast::Sender<Event>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
        }
    }
}

impl LocalBus {
    fn deliver(&self, event: Event) {
        // No subscriber is not an error.
        let _ = self.sender.send(event);
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, event: Event) {
        self.deliver(event);
    }

    fn subscribe(&self) -> BoxStream<'static, Event> {
        receiver_stream(self.sender.subscribe())
    }
}

/// Every instance publishes to one Redis channel and feeds what it hears into its local
/// bus. When Redis is unreachable, events are delivered on this instance only and the
/// listener reconnects by itself, logging the gap.
pub struct RedisBus {
    local: LocalBus,
    client: redis::Client,
    /// The publishing connection and its generation (so a failure only drops the
    /// connection it happened on, not one opened since).
    publisher: tokio::sync::Mutex<(u64, Option<redis::aio::MultiplexedConnection>)>,
    channel: String,
}

impl RedisBus {
    pub fn start(url: &str, prefix: &str) -> anyhow::Result<Arc<Self>> {
        let bus = Arc::new(Self {
            local: LocalBus::default(),
            client: redis::Client::open(url)?,
            publisher: tokio::sync::Mutex::new((0, None)),
            channel: format!("{prefix}events"),
        });
        tokio::spawn(listen(Arc::downgrade(&bus)));
        Ok(bus)
    }

    /// Publishes on the bus's own connection, opened on first use and again after a
    /// failure. The lock is held only to pick the connection: publishes from different
    /// tasks are pipelined on it, each task's in the order it sends them.
    async fn try_publish(&self, payload: &str) -> redis::RedisResult<()> {
        let (generation, mut conn) = {
            let mut guard = self.publisher.lock().await;
            match &guard.1 {
                Some(conn) => (guard.0, conn.clone()),
                None => {
                    let conn = self.client.get_multiplexed_async_connection().await?;
                    guard.0 += 1;
                    guard.1 = Some(conn.clone());
                    (guard.0, conn)
                }
            }
        };
        let result: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(payload)
            .query_async(&mut conn)
            .await;
        if result.is_err() {
            let mut guard = self.publisher.lock().await;
            if guard.0 == generation {
                guard.1 = None;
            }
        }
        result.map(|_| ())
    }
}

/// Subscribes to the channel and forwards every event to the local bus, reconnecting
/// with a growing pause (up to 5 s) while Redis is away. Ends when the bus is dropped.
async fn listen(bus: std::sync::Weak<RedisBus>) {
    let mut pause = Duration::from_millis(100);
    loop {
        let Some(strong) = bus.upgrade() else { return };
        let (client, channel) = (strong.client.clone(), strong.channel.clone());
        drop(strong);
        let connected = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        }
        .await;
        match connected {
            Ok(mut pubsub) => {
                tracing::info!(channel, "event bus listening on Redis");
                pause = Duration::from_millis(100);
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    let Some(strong) = bus.upgrade() else { return };
                    match message
                        .get_payload::<String>()
                        .map_err(anyhow::Error::new)
                        .and_then(|p| serde_json::from_str::<Event>(&p).map_err(anyhow::Error::new))
                    {
                        Ok(event) => strong.local.deliver(event),
                        Err(e) => tracing::warn!(error = %e, "unreadable event on the bus"),
                    }
                }
                tracing::warn!("event bus lost Redis; events from other instances are missed until it reconnects");
            }
            Err(e) => {
                tracing::warn!(error = %e, "event bus cannot reach Redis; retrying");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, event: Event) {
        let payload = match serde_json::to_string(&event) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode an event");
                return;
            }
        };
        if let Err(e) = self.try_publish(&payload).await {
            tracing::warn!(error = %e, "cannot publish to Redis; delivering on this instance only");
            self.local.deliver(event);
        }
    }

    fn subscribe(&self) -> BoxStream<'static, Event> {
        self.local.subscribe()
    }
}
