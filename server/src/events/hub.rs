//! Who is listening, and what changed lately.
//!
//! Each open stream is a [`Slot`]: a pending event id and a waker, nothing else. Slots are
//! indexed by audience (a technician by user id, a dispatcher by each of its regions, every
//! other office role in one list), so a change wakes exactly the streams it concerns, without
//! looking at the others. Delivering a batch marks each concerned slot with the batch's stamp
//! (the highest wins) and wakes it; the stream then writes one `sync` event however many
//! batches marked it meanwhile.
//!
//! [`Recent`] keeps the last few minutes of batches so that a stream reconnecting with a
//! `Last-Event-ID` learns whether it missed anything that concerns it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

use super::{Change, Touched};

/// Work order ids one `sync` event names at most; beyond, it names none (refetch everything).
pub const MAX_EVENT_IDS: usize = 64;

/// Batches kept for `Last-Event-ID` resumes, at most.
const RECENT_BATCHES: usize = 4096;
/// How long a batch is kept for resumes (ms): a device away longer syncs on reconnect anyway.
const RECENT_MS: i64 = 15 * 60 * 1000;

/// Who a stream listens for: the same scope the sync uses (`workorders::scope::visible`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// A technician: the jobs assigned to it, and those just taken from it.
    Technician(String),
    /// A dispatcher: the work orders of its regions.
    Regions(Vec<String>),
    /// Agents, managers, auditors and admins: every work order.
    Everyone,
}

impl Audience {
    /// Whether a change to `t` concerns this audience.
    pub fn concerns(&self, t: &Touched) -> bool {
        match self {
            Audience::Technician(user) => t.technicians.contains(user),
            Audience::Regions(regions) => t.is_office_wide() || regions.contains(&t.region),
            Audience::Everyone => true,
        }
    }
}

/// One open stream's state in the hub.
#[derive(Debug)]
pub struct Slot {
    key: u64,
    device: Option<Box<str>>,
    /// The stamp of the latest batch not yet sent as an event; 0 when there is none.
    pending: AtomicI64,
    waker: AtomicWaker,
    /// For a stream that wants to know *what* changed (the browser console): the ids
    /// marked since the last event. `None` for devices, whose event stays data-free.
    ids: Option<Mutex<PendingIds>>,
}

/// The work orders changed since a stream's last event.
#[derive(Debug, Default)]
struct PendingIds {
    ids: Vec<Box<str>>,
    /// More than [`MAX_EVENT_IDS`], or unknown (a resync): the event names none.
    overflow: bool,
}

/// What a `sync` event names: the ids changed, or `None` for "anything may have".
pub type ChangedIds = Option<Vec<String>>;

impl Slot {
    /// The pending event's id, if any, clearing it.
    pub fn take(&self) -> Option<i64> {
        match self.pending.swap(0, Ordering::AcqRel) {
            0 => None,
            stamp => Some(stamp),
        }
    }

    /// Wakes `waker` at the next mark. Register before [`Slot::take`], so that no mark falls
    /// between the two unseen.
    pub fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// The ids marked since the last call (`None`: unknown or too many), clearing them.
    /// Always `None` for a stream that does not track ids.
    pub fn take_ids(&self) -> ChangedIds {
        let ids = self.ids.as_ref()?;
        let mut p = lock(ids);
        let taken = std::mem::take(&mut *p);
        if taken.overflow {
            None
        } else {
            Some(taken.ids.into_iter().map(String::from).collect())
        }
    }

    fn mark(&self, stamp: i64, id: Option<&str>) {
        if let Some(ids) = &self.ids {
            let mut p = lock(ids);
            match id {
                Some(id) if p.overflow || p.ids.iter().any(|x| &**x == id) => {}
                Some(id) if p.ids.len() < MAX_EVENT_IDS => p.ids.push(id.into()),
                _ => {
                    p.overflow = true;
                    p.ids = Vec::new();
                }
            }
        }
        self.pending.fetch_max(stamp.max(1), Ordering::AcqRel);
        self.waker.wake();
    }

    fn is_origin(&self, t: &Touched) -> bool {
        matches!((&self.device, &t.origin), (Some(d), Some(o)) if **d == **o)
    }
}

#[derive(Default)]
struct Registry {
    next: u64,
    technicians: HashMap<String, Vec<Arc<Slot>>>,
    regions: HashMap<String, Vec<Arc<Slot>>>,
    everyone: HashMap<u64, Arc<Slot>>,
}

/// The batches of the last minutes, for resumes.
struct Recent {
    /// Before this stamp nothing is known here (the process started, or the listener lost
    /// its connection): a client that last heard of an earlier event gets a `sync`.
    since: i64,
    batches: VecDeque<(i64, Arc<[Touched]>)>,
}

/// What the tasks and the streams share.
pub struct Inner {
    registry: Mutex<Registry>,
    recent: Mutex<Recent>,
    /// Changes reported by writers, for the publisher.
    pub(super) outbox: Mutex<Vec<Change>>,
    pub(super) outbox_ready: Notify,
    /// Stamped batches to deliver, gathered for [`super::COALESCE`].
    pub(super) inbox: Mutex<Vec<(i64, Vec<Touched>)>>,
    pub(super) inbox_ready: Notify,
    /// The highest stamp delivered (or `since`).
    latest: AtomicI64,
    open: AtomicUsize,
}

/// A poisoned lock only means a panic elsewhere while holding it; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process's hub: cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pub(super) inner: Arc<Inner>,
}

impl Hub {
    /// A hub with no tasks: nothing is published until [`super::publish::start`] runs.
    /// `since`: the stamp from which this hub knows every change (now, at start).
    pub fn new(since: i64) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                registry: Mutex::new(Registry::default()),
                recent: Mutex::new(Recent {
                    since,
                    batches: VecDeque::new(),
                }),
                outbox: Mutex::new(Vec::new()),
                outbox_ready: Notify::new(),
                inbox: Mutex::new(Vec::new()),
                inbox_ready: Notify::new(),
                latest: AtomicI64::new(since),
                open: AtomicUsize::new(0),
            }),
        }
    }

    /// Queues changes for the publisher (see [`super::notify`]).
    pub fn queue(&self, changes: impl IntoIterator<Item = Change>) {
        let mut out = lock(&self.inner.outbox);
        let before = out.len();
        out.extend(changes);
        if out.len() > before {
            drop(out);
            self.inner.outbox_ready.notify_one();
        }
    }

    /// Registers a stream. Dropping the [`Subscription`] unregisters it. `with_ids`: its
    /// events name the work orders that changed ([`Slot::take_ids`]).
    pub fn subscribe(
        &self,
        audience: Audience,
        device: Option<String>,
        with_ids: bool,
    ) -> Subscription {
        let mut reg = lock(&self.inner.registry);
        reg.next += 1;
        let slot = Arc::new(Slot {
            key: reg.next,
            device: device.map(String::into_boxed_str),
            pending: AtomicI64::new(0),
            waker: AtomicWaker::new(),
            ids: with_ids.then(|| Mutex::new(PendingIds::default())),
        });
        match &audience {
            Audience::Technician(u) => reg
                .technicians
                .entry(u.clone())
                .or_default()
                .push(slot.clone()),
            Audience::Regions(rs) => {
                for r in rs {
                    reg.regions.entry(r.clone()).or_default().push(slot.clone());
                }
            }
            Audience::Everyone => {
                reg.everyone.insert(slot.key, slot.clone());
            }
        }
        drop(reg);
        let open = self.inner.open.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("fieldsync_event_streams").set(open as f64);
        Subscription {
            hub: self.inner.clone(),
            slot,
            audience,
        }
    }

    /// Whether a client that last heard of event `last` (none: a first connection) may have
    /// missed a change that concerns it. Call after [`Hub::subscribe`], so that a change
    /// delivered in between reaches the new stream either way.
    pub fn missed(&self, sub: &Subscription, last: Option<i64>) -> bool {
        let Some(last) = last else { return true };
        let recent = lock(&self.inner.recent);
        if last < recent.since {
            return true;
        }
        recent
            .batches
            .iter()
            .rev()
            .take_while(|(stamp, _)| *stamp > last)
            .any(|(_, batch)| {
                batch
                    .iter()
                    .any(|t| !sub.slot.is_origin(t) && sub.audience.concerns(t))
            })
    }

    /// The highest stamp this hub has delivered (its start time before any).
    pub fn latest(&self) -> i64 {
        self.inner.latest.load(Ordering::Acquire)
    }

    /// Streams open on this instance.
    pub fn open_streams(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }

    /// Hands a stamped batch to the delivery task (which waits [`super::COALESCE`] first).
    pub fn arrived(&self, stamp: i64, touched: Vec<Touched>) {
        if touched.is_empty() {
            return;
        }
        lock(&self.inner.inbox).push((stamp, touched));
        self.inner.inbox_ready.notify_one();
    }

    /// Delivers everything that arrived: marks and wakes each concerned stream once.
    pub fn deliver_arrived(&self) {
        let batches = std::mem::take(&mut *lock(&self.inner.inbox));
        for (stamp, touched) in batches {
            self.deliver(stamp, touched);
        }
    }

    /// Marks every stream this batch concerns and keeps it for resumes.
    pub fn deliver(&self, stamp: i64, touched: Vec<Touched>) {
        let reg = lock(&self.inner.registry);
        for t in &touched {
            for tech in &t.technicians {
                for slot in reg.technicians.get(tech).into_iter().flatten() {
                    if !slot.is_origin(t) {
                        slot.mark(stamp, Some(&t.id));
                    }
                }
            }
            // Stock is not regional: every dispatcher's stream (marking one twice is harmless).
            let regional: Vec<&Arc<Slot>> = if t.is_office_wide() {
                reg.regions.values().flatten().collect()
            } else {
                reg.regions.get(&t.region).into_iter().flatten().collect()
            };
            for slot in regional {
                if !slot.is_origin(t) {
                    slot.mark(stamp, Some(&t.id));
                }
            }
        }
        if !reg.everyone.is_empty() {
            // One pass over every all-seeing stream per batch, not per document (a stream
            // that tracks ids looks at each).
            for slot in reg.everyone.values() {
                if slot.ids.is_some() {
                    for t in touched.iter().filter(|t| !slot.is_origin(t)) {
                        slot.mark(stamp, Some(&t.id));
                    }
                } else if touched.iter().any(|t| !slot.is_origin(t)) {
                    slot.mark(stamp, None);
                }
            }
        }
        drop(reg);
        self.inner.latest.fetch_max(stamp, Ordering::AcqRel);
        let mut recent = lock(&self.inner.recent);
        recent.batches.push_back((stamp, touched.into()));
        let horizon = stamp - RECENT_MS;
        while recent.batches.len() > RECENT_BATCHES
            || recent.batches.front().is_some_and(|(s, _)| *s < horizon)
        {
            if let Some((s, _)) = recent.batches.pop_front() {
                recent.since = recent.since.max(s);
            }
        }
    }

    /// Everything before `stamp` may have been missed (the listener lost its connection):
    /// every open stream gets a `sync`, and resumes from earlier ids get one too.
    pub fn resync_all(&self, stamp: i64) {
        {
            let mut recent = lock(&self.inner.recent);
            recent.since = recent.since.max(stamp);
            recent.batches.clear();
        }
        self.inner.latest.fetch_max(stamp, Ordering::AcqRel);
        let reg = lock(&self.inner.registry);
        let all = reg
            .technicians
            .values()
            .chain(reg.regions.values())
            .flatten()
            .chain(reg.everyone.values());
        for slot in all {
            slot.mark(stamp, None);
        }
    }
}

/// A registered stream; unregisters when dropped.
pub struct Subscription {
    hub: Arc<Inner>,
    pub(super) slot: Arc<Slot>,
    audience: Audience,
}

impl Subscription {
    pub fn slot(&self) -> &Slot {
        &self.slot
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let key = self.slot.key;
        let mut reg = lock(&self.hub.registry);
        let remove = |map: &mut HashMap<String, Vec<Arc<Slot>>>, k: &str| {
            if let Some(v) = map.get_mut(k) {
                v.retain(|s| s.key != key);
                if v.is_empty() {
                    map.remove(k);
                }
            }
        };
        match &self.audience {
            Audience::Technician(u) => remove(&mut reg.technicians, u),
            Audience::Regions(rs) => {
                for r in rs {
                    remove(&mut reg.regions, r);
                }
            }
            Audience::Everyone => {
                reg.everyone.remove(&key);
            }
        }
        drop(reg);
        let open = self
            .hub
            .open
            .fetch_sub(1, Ordering::Relaxed)
            .saturating_sub(1);
        metrics::gauge!("fieldsync_event_streams").set(open as f64);
    }
}
