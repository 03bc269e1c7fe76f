//! How much live traffic one client may hold open: sockets and event streams per client
//! address, sockets per signed-in user, and subscriptions in total per user (or, for
//! anonymous viewers, per address), across all of its sockets and streams on this
//! instance. Without these a single address could open sockets until memory runs out.
//!
//! Holding is by lease: a lease counts while it lives and gives its count back when it
//! is dropped, however the socket or subscription ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::auth::Viewer;

/// Limits per client.
#[derive(Clone, Copy, Debug)]
pub struct LiveLimits {
    /// Sockets and event streams per address, and sockets per signed-in user.
    pub sockets_per_client: usize,
    /// Subscriptions per signed-in user, or per address for anonymous viewers.
    pub subscriptions_per_client: usize,
}

impl Default for LiveLimits {
    fn default() -> Self {
        Self {
            sockets_per_client: 64,
            subscriptions_per_client: 512,
        }
    }
}

#[derive(Default)]
struct Counts {
    sockets: HashMap<String, usize>,
    subscriptions: HashMap<String, usize>,
}

/// The live counts of this instance.
#[derive(Clone, Default)]
pub struct LiveQuotas {
    counts: Arc<Mutex<Counts>>,
    pub limits: LiveLimits,
}

#[derive(Clone, Copy)]
enum Kind {
    Socket,
    Subscription,
}

/// One counted socket or subscription; gives its count back when dropped.
pub struct Lease {
    counts: Arc<Mutex<Counts>>,
    kind: Kind,
    key: String,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.lock() {
            let map = match self.kind {
                Kind::Socket => &mut counts.sockets,
                Kind::Subscription => &mut counts.subscriptions,
            };
            if let Some(n) = map.get_mut(&self.key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.key);
                }
            }
        }
    }
}

/// The key a viewer's subscriptions count under.
fn subscriber_key(viewer: &Viewer) -> String {
    viewer.counter_key()
}

impl LiveQuotas {
    pub fn new(limits: LiveLimits) -> Self {
        Self {
            counts: Arc::default(),
            limits,
        }
    }

    fn take(&self, kind: Kind, key: String, max: usize) -> Option<Lease> {
        let mut counts = self.counts.lock().ok()?;
        let map = match kind {
            Kind::Socket => &mut counts.sockets,
            Kind::Subscription => &mut counts.subscriptions,
        };
        let n = map.entry(key.clone()).or_insert(0);
        if *n >= max {
            if *n == 0 {
                map.remove(&key);
            }
            return None;
        }
        *n += 1;
        Some(Lease {
            counts: self.counts.clone(),
            kind,
            key,
        })
    }

    /// A socket or stream from `address`; `None` when the address holds its limit.
    pub fn open_from(&self, address: &str) -> Option<Lease> {
        self.take(
            Kind::Socket,
            format!("addr:{address}"),
            self.limits.sockets_per_client,
        )
    }

    /// A socket of a signed-in user; `None` when the user holds its limit. Anonymous
    /// viewers are counted by address only.
    pub fn open_for(&self, viewer: &Viewer) -> Option<Option<Lease>> {
        match viewer {
            Viewer::User { .. } => self
                .take(
                    Kind::Socket,
                    subscriber_key(viewer),
                    self.limits.sockets_per_client,
                )
                .map(Some),
            Viewer::Anonymous { .. } => Some(None),
        }
    }

    /// One subscription of `viewer`; `None` when the viewer holds its limit.
    pub fn subscribe(&self, viewer: &Viewer) -> Option<Lease> {
        self.take(
            Kind::Subscription,
            subscriber_key(viewer),
            self.limits.subscriptions_per_client,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_count_until_dropped() {
        let quotas = LiveQuotas::new(LiveLimits {
            sockets_per_client: 2,
            subscriptions_per_client: 1,
        });
        let a = quotas.open_from("10.0.0.1");
        let b = quotas.open_from("10.0.0.1");
        assert!(a.is_some() && b.is_some());
        assert!(quotas.open_from("10.0.0.1").is_none());
        assert!(quotas.open_from("10.0.0.2").is_some());
        drop(a);
        assert!(quotas.open_from("10.0.0.1").is_some());

        let viewer = Viewer::Anonymous {
            client_key: "10.0.0.1".into(),
        };
        let s = quotas.subscribe(&viewer);
        assert!(s.is_some());
        assert!(quotas.subscribe(&viewer).is_none());
        drop(s);
        assert!(quotas.subscribe(&viewer).is_some());
        assert!(quotas.counts.lock().unwrap().subscriptions.is_empty());
    }
}
