//! Which live sockets belong to which session, so that a revoked session (an event on the
//! bus, from any instance) closes its sockets at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::sync::Notify;

use crate::domain::events::{Event, EventBus};
use crate::domain::SessionId;

#[derive(Clone, Default)]
pub struct SessionWatch {
    sockets: Arc<Mutex<HashMap<SessionId, Vec<Arc<Notify>>>>>,
}

impl SessionWatch {
    /// Follows the bus for as long as the watch is in use.
    pub fn start(events: &Arc<dyn EventBus>) -> Self {
        let watch = Self::default();
        let weak = Arc::downgrade(&watch.sockets);
        let mut stream = events.subscribe();
        tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                let Event::SessionsRevoked { sessions } = event else {
                    continue;
                };
                let Some(sockets) = weak.upgrade() else {
                    return;
                };
                let Ok(sockets) = sockets.lock() else { return };
                for session in &sessions {
                    for socket in sockets.get(session).into_iter().flatten() {
                        socket.notify_one();
                    }
                }
            }
        });
        watch
    }

    /// A signal that fires when `session` is revoked; unregistered when dropped.
    pub fn register(&self, session: SessionId) -> Registration {
        let notify = Arc::new(Notify::new());
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.entry(session).or_default().push(notify.clone());
        }
        Registration {
            watch: self.clone(),
            session,
            notify,
        }
    }
}

pub struct Registration {
    watch: SessionWatch,
    session: SessionId,
    notify: Arc<Notify>,
}

impl Registration {
    pub async fn revoked(&self) {
        self.notify.notified().await
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut sockets) = self.watch.sockets.lock() {
            if let Some(list) = sockets.get_mut(&self.session) {
                list.retain(|n| !Arc::ptr_eq(n, &self.notify));
                if list.is_empty() {
                    sockets.remove(&self.session);
                }
            }
        }
    }
}
