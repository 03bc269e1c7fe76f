//! Short-lived shared state: the revocation list and attempt counters. In-process by
//! default; Redis when `REDIS_URL` is set so that every instance sees the same state.

mod memory;
mod redis_store;

pub use memory::MemoryStore;
pub use redis_store::RedisStore;
