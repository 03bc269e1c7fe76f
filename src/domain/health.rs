//! The health port: what the readiness probe and `/metrics` report of the instance's
//! backing services. The transport asks through this port and never holds the database,
//! Redis or the search replica itself.

use async_trait::async_trait;

/// The backing services, probed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `Err` says why the database cannot serve requests or take writes.
    pub database: Result<(), String>,
    /// `None` when the instance runs without Redis.
    pub redis: Option<Result<(), String>>,
    /// The search index: `ok`, or what keeps it from serving (`missing`, `rebuilding`,
    /// `failing`).
    pub search: &'static str,
}

impl Readiness {
    /// Ready when the database answers and takes writes, Redis (when configured) answers
    /// and the search index keeps up.
    pub fn is_ready(&self) -> bool {
        self.database.is_ok()
            && self.redis.as_ref().is_none_or(|r| r.is_ok())
            && self.search == "ok"
    }
}

/// Whether a [`Measure`] only grows or goes up and down (Prometheus' types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureKind {
    Counter,
    Gauge,
}

/// One number about a backing service, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MeasureKind,
    pub value: u64,
}

#[async_trait]
pub trait InstanceHealth: Send + Sync {
    /// Probes every backing service; bounded by the services' own timeouts.
    async fn readiness(&self) -> Readiness;

    /// Numbers about the backing services, read without any request to them.
    fn measures(&self) -> Vec<Measure>;
}
