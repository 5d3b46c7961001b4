//! Scenario steps on live push: `listen`, `wait_event`, `no_event`.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use tokio::sync::mpsc;

use super::{Run, Step};
use crate::device::Device;
use crate::watch::source::{self, EventSource};
use crate::watch::sse::Event;

/// A device's open event stream, read by a task of its own into a queue.
pub struct Listener {
    events: mpsc::UnboundedReceiver<Result<Event, String>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Listener {
    /// Opens the stream as `dev` and waits for its first event (a new connection starts with
    /// a `sync`), so that the stream is known to be registered when the step ends.
    async fn open(dev: &Device, within: Duration) -> anyhow::Result<Listener> {
        let (api, token) = dev.api_and_token().await?;
        let http = source::client()?;
        let mut src = EventSource::connect(&http, api.base(), &token, None)
            .await
            .context("opening the event stream")?;
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            loop {
                let next = src.next().await;
                let done = !matches!(next, Ok(Some(_)));
                let sent = match next {
                    Ok(Some(e)) => tx.send(Ok(e)),
                    Ok(None) => tx.send(Err("the server ended the stream".into())),
                    Err(e) => tx.send(Err(e.to_string())),
                };
                if done || sent.is_err() {
                    return;
                }
            }
        });
        let mut l = Listener { events: rx, reader };
        match l.next_within(within).await? {
            Some(e) if e.event == "sync" => Ok(l),
            Some(e) => bail!("the stream began with {:?}, not sync", e.event),
            None => bail!("the stream sent nothing within {within:?}"),
        }
    }

    /// The next event within `within`; `None` if none came.
    async fn next_within(&mut self, within: Duration) -> anyhow::Result<Option<Event>> {
        match tokio::time::timeout(within, self.events.recv()).await {
            Err(_) => Ok(None),
            Ok(None) => bail!("the event stream is closed"),
            Ok(Some(Err(e))) => bail!("event stream: {e}"),
            Ok(Some(Ok(e))) => Ok(Some(e)),
        }
    }
}

fn duration(step: &Step, default: Duration) -> anyhow::Result<Duration> {
    match step.timeout.as_deref() {
        None => Ok(default),
        Some(t) => humantime_serde::re::humantime::parse_duration(t.trim())
            .map_err(|e| anyhow!("timeout {t:?}: {e}")),
    }
}

impl Run<'_> {
    pub(super) async fn events_op(&mut self, s: &Step) -> anyhow::Result<()> {
        let name = s
            .device
            .clone()
            .ok_or_else(|| anyhow!("op {:?} needs `device`", s.op))?;
        match s.op.as_str() {
            "listen" => {
                let within = duration(s, Duration::from_secs(5))?;
                let l = Listener::open(self.device(s)?, within).await?;
                self.streams.insert(name, l);
            }
            "wait_event" => {
                let within = duration(s, Duration::from_secs(2))?;
                let want = s.event.as_deref().unwrap_or("sync");
                let l = self.listener(&name)?;
                loop {
                    match l.next_within(within).await? {
                        Some(e) if e.event == want => break,
                        Some(_) => continue,
                        None => bail!("no {want} event on {name} within {within:?}"),
                    }
                }
                self.checks += 1;
            }
            _ => {
                let within = duration(s, Duration::from_secs(1))?;
                let l = self.listener(&name)?;
                if let Some(e) = l.next_within(within).await? {
                    bail!(
                        "{name} was sent {:?} (id {:?}), expected nothing",
                        e.event,
                        e.id
                    );
                }
                self.checks += 1;
            }
        }
        Ok(())
    }

    fn listener(&mut self, name: &str) -> anyhow::Result<&mut Listener> {
        self.streams
            .get_mut(name)
            .ok_or_else(|| anyhow!("device {name:?} is not listening: add a `listen` step first"))
    }
}
