//! [`InstanceHealth`] over the adapters this instance runs on.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::health::{InstanceHealth, Measure, MeasureKind, Readiness};
use crate::infra::db::Database;
use crate::infra::kv::RedisStore;
use crate::infra::search::SearchReplica;

pub struct AdapterHealth {
    pub db: Database,
    pub redis: Option<RedisStore>,
    pub replica: Arc<SearchReplica>,
}

#[async_trait]
impl InstanceHealth for AdapterHealth {
    async fn readiness(&self) -> Readiness {
        let database = match self.db.ping().await {
            Err(e) => Err(e.to_string()),
            Ok(()) => self.db.writes_failing().map_or(Ok(()), Err),
        };
        let redis = match &self.redis {
            Some(r) => Some(r.ping().await.map_err(|e| e.to_string())),
            None => None,
        };
        Readiness {
            database,
            redis,
            search: self.replica.health(),
        }
    }

    fn measures(&self) -> Vec<Measure> {
        let index = self.replica.current();
        vec![
            Measure {
                name: "reelgraph_db_statements_total",
                help: "SQL statements run by this instance.",
                kind: MeasureKind::Counter,
                value: self.db.statements_run(),
            },
            Measure {
                name: "reelgraph_search_index_position",
                help: "Search outbox position this instance's index has applied.",
                kind: MeasureKind::Gauge,
                value: index.position(),
            },
            Measure {
                name: "reelgraph_search_documents",
                help: "Videos in this instance's search index.",
                kind: MeasureKind::Gauge,
                value: index.num_docs(),
            },
        ]
    }
}
