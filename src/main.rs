use clap::Parser;
use reelgraph::cli::Cli;

// glibc malloc kept hundreds of MB after a login storm (argon2 allocates 19 MiB per hash
// on whichever blocking thread runs it) and spent a fifth of the feed's CPU time;
// mimalloc returns that memory and allocates faster.
// The `system-allocator` feature leaves the system's malloc in place, for heap profilers
// (heaptrack, valgrind's massif) that only see that one.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the `mi_option_e` of the mimalloc sources libmimalloc-sys
/// 0.1 builds (v3 by default; v2 has it at the same place); the crate names no constant
/// for it.
#[cfg(not(feature = "system-allocator"))]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// With mimalloc's default purge delay (one second in v3), pages freed by one worker
/// thread wait to be returned to the system and a long run's heap creeps up (anonymous
/// memory 226 to 264 MB in six minutes of the soak); purging at once keeps it flat, with
/// throughput and p99 within the noise (BENCHMARKS.md, "mimalloc's purge delay"). An
/// operator's `MIMALLOC_PURGE_DELAY` (or its old name `MIMALLOC_RESET_DELAY`, in any case,
/// as mimalloc reads them) wins.
#[cfg(not(feature = "system-allocator"))]
fn purge_freed_memory_at_once() {
    let operator_chose = std::env::vars_os().any(|(name, _)| {
        name.to_str().is_some_and(|name| {
            name.eq_ignore_ascii_case("MIMALLOC_PURGE_DELAY")
                || name.eq_ignore_ascii_case("MIMALLOC_RESET_DELAY")
        })
    });
    if !operator_chose {
        // SAFETY: mi_option_set only stores an integer option; mimalloc reads it on its
        // next purge, from any thread.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
    }
}

fn main() -> anyhow::Result<()> {
    // Before the runtime starts its threads, so that every thread's heap purges at once.
    #[cfg(not(feature = "system-allocator"))]
    purge_freed_memory_at_once();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    reelgraph::telemetry::init(cli.config.log_format);
    reelgraph::commands::run(cli).await
}

#[cfg(all(test, not(feature = "system-allocator")))]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;

    /// The index names the purge delay: its default in the v3 sources is 1000 ms, and no
    /// option next to it defaults to 1000.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        let expected = std::env::var("MIMALLOC_PURGE_DELAY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        // SAFETY: reads an integer option.
        let value = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(value, expected);
    }
}
