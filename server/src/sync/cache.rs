//! A bounded cache of hot work-order documents, so that a device syncing a job it fetched a
//! moment ago does not pay for loading the document from the database again.
//!
//! An entry is the loaded Automerge document with the heads it had when stored. It is valid
//! only while the database holds exactly those heads: every reader compares them with the
//! heads it read from the `documents` row, so an entry made stale by another instance (or by
//! any writer that bypassed the cache) is simply not used. Entries are *taken* out of the
//! cache for a request and put back after its commit: two requests on one document never
//! share a mutable copy, and a request that fails leaves nothing behind.
//!
//! The cache is bounded by an estimate of the memory its documents use (see [`weight`]), so
//! the process stays flat however many documents the database holds.

use automerge::Automerge;
use quick_cache::sync::Cache;

/// Default bound on the memory the cached documents may use, in bytes.
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// An in-memory Automerge document costs roughly this many times its stored size (op tree,
/// indexes, change graph, allocator overhead): measured at about 40× for work orders (the
/// server's resident memory grew by 67 MB when 1,000 documents of 1.4–1.7 KB were cached).
const MEMORY_PER_SAVED_BYTE: u64 = 40;

#[derive(Clone)]
pub struct Entry {
    /// Heads as stored (`db::docs::heads_text`).
    pub heads: String,
    pub doc: Automerge,
    /// Estimated memory of `doc`, in bytes.
    pub weight: u64,
}

#[derive(Clone)]
struct ByWeight;

impl quick_cache::Weighter<String, Entry> for ByWeight {
    fn weight(&self, _key: &String, entry: &Entry) -> u64 {
        entry.weight
    }
}

pub struct DocCache {
    inner: Cache<String, Entry, ByWeight>,
}

/// Estimated memory of a loaded document whose stored form (snapshot plus change log) is
/// `stored_bytes` long.
pub fn weight(stored_bytes: usize) -> u64 {
    (stored_bytes as u64).max(512) * MEMORY_PER_SAVED_BYTE
}

impl DocCache {
    pub fn new(max_bytes: u64) -> Self {
        // quick_cache sizes its tables from an item estimate; documents weigh ~20–60 KiB.
        let items = usize::try_from(max_bytes / (24 * 1024))
            .unwrap_or(1024)
            .max(16);
        DocCache {
            inner: Cache::with_weighter(items, max_bytes.max(1), ByWeight),
        }
    }

    /// Takes the document `id` out of the cache if it has exactly `heads`; a stale entry is
    /// dropped.
    pub fn take(&self, id: &str, heads: &str) -> Option<Entry> {
        let Some((_, entry)) = self.inner.remove(id) else {
            metrics::counter!("fieldsync_doc_cache_total", "result" => "miss").increment(1);
            return None;
        };
        let hit = entry.heads == heads;
        metrics::counter!("fieldsync_doc_cache_total", "result" => if hit { "hit" } else { "stale" })
            .increment(1);
        hit.then_some(entry)
    }

    /// Puts a document back (after its request committed), replacing any older entry.
    pub fn put(&self, id: String, entry: Entry) {
        self.inner.insert(id, entry);
        metrics::gauge!("fieldsync_doc_cache_bytes").set(self.inner.weight() as f64);
    }

    pub fn weight(&self) -> u64 {
        self.inner.weight()
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::ROOT;

    fn doc(v: i64) -> Automerge {
        let mut d = Automerge::new();
        d.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "v", v))
            .unwrap();
        d
    }

    fn entry(heads: &str, v: i64) -> Entry {
        Entry {
            heads: heads.into(),
            doc: doc(v),
            weight: weight(1000),
        }
    }

    #[test]
    fn an_entry_is_used_only_with_the_heads_it_was_stored_with() {
        let cache = DocCache::new(1 << 20);
        cache.put("WO-1".into(), entry("a", 1));
        assert!(cache.take("WO-1", "b").is_none(), "stale heads");
        // The stale entry is gone, not left for the next reader.
        assert!(cache.take("WO-1", "a").is_none());
        cache.put("WO-1".into(), entry("a", 1));
        let hit = cache.take("WO-1", "a").unwrap();
        let v = automerge::ReadDoc::get(&hit.doc, ROOT, "v")
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(v.as_i64(), Some(1));
        assert!(cache.take("WO-1", "a").is_none(), "taken, not shared");
    }

    #[test]
    fn the_cache_stays_within_its_memory_bound() {
        let bound = 40 * weight(1000);
        let cache = DocCache::new(bound);
        for i in 0..500 {
            cache.put(format!("WO-{i}"), entry("h", i));
        }
        assert!(cache.weight() <= bound, "{} > {bound}", cache.weight());
        assert!(cache.len() <= 40 && !cache.is_empty());
    }
}
