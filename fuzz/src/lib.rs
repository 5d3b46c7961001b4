//! What every fuzz target shares: a global allocator that bounds the heap one input may hold.
//!
//! libFuzzer's `-malloc_limit_mb` needs a sanitizer's malloc hooks, which a stable
//! `--sanitizer none` build does not have; `-rss_limit_mb` only samples the process's memory
//! once a second. [`Bounded`] counts every byte the Rust code allocates instead: [`bounded`]
//! runs one input with a cap on the heap it may add, and an allocation past the cap aborts at
//! once, naming the size, so libFuzzer saves the input as a crash.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Bytes allocated and not yet freed.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most [`LIVE`] may reach before an allocation aborts.
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The highest [`LIVE`] during the current input.
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The highest heap use an input has caused so far, in bytes, for the report.
static RECORD: AtomicUsize = AtomicUsize::new(0);

/// The counting allocator: install with `#[global_allocator] static A: Bounded = Bounded;`.
pub struct Bounded;

impl Bounded {
    fn grow(size: usize) {
        let live = LIVE.fetch_add(size, Relaxed) + size;
        PEAK.fetch_max(live, Relaxed);
        let limit = LIMIT.load(Relaxed);
        if live > limit {
            // Reporting must not recurse into the limit.
            LIMIT.store(usize::MAX, Relaxed);
            eprintln!(
                "==fieldsync-fuzz== heap limit: an allocation of {size} bytes brings the heap \
                 of this input to {live} bytes, over the cap\n{}",
                std::backtrace::Backtrace::force_capture()
            );
            std::process::abort();
        }
    }
}

// SAFETY: every call forwards to `System` with the same arguments; the counters are atomics.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::grow(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::grow(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            Self::grow(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

/// One mebibyte, for caps.
pub const MIB: usize = 1024 * 1024;

/// Runs `f` on one input with at most `cap` bytes of heap added, and reports each new record of
/// heap use on stderr (from 1 MiB up, at each doubling), so a campaign's log shows the largest
/// heap an input reached.
pub fn bounded<T>(cap: usize, len: usize, f: impl FnOnce() -> T) -> T {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    LIMIT.store(base.saturating_add(cap), Relaxed);
    let out = f();
    LIMIT.store(usize::MAX, Relaxed);
    let used = PEAK.load(Relaxed).saturating_sub(base);
    let record = RECORD.load(Relaxed);
    if used >= MIB && used > record.saturating_mul(2) {
        RECORD.store(used, Relaxed);
        eprintln!(
            "==fieldsync-fuzz== heap record: {:.1} MiB for an input of {len} bytes",
            used as f64 / MIB as f64
        );
    }
    out
}

/// Keeps panics that the code under test catches itself (`catch_unwind`, e.g. the guards
/// around Automerge and the image decoders) from aborting the fuzzer: libfuzzer-sys installs
/// a hook that aborts on every panic, caught or not. A panic that escapes the target still
/// aborts (libfuzzer-sys's own `catch_unwind` around each input), so it is still a crash.
/// Each caught panic prints one line, so they show in a campaign's log.
pub fn allow_caught_panics() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("==fieldsync-fuzz== panic (caught by the code under test?): {info}");
    }));
}
