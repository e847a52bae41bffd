//! The callback queue's owner: one task holding `routing::queue::Queue`, kept in the store
//! (`store::CallbackQueue`) entry by entry as it changes — so a callback ordered survives a
//! restart and keeps its place. The shards report what their calls did (`Report`: a caller
//! ordered a callback, an attempt ended); every second the task asks the queue what is due
//! under the running config and who is free (`engine::presence::Free`), and hands each
//! callback to start to a shard (`Shards::callback`). A callback given up without a call
//! (expired, its department gone) leaves its record in the call history here; an attempt's
//! call writes its own.

use super::applier::{now_ms, Applier};
use super::shards::{Call, Persist, Report, Reports, Starter};
use crate::engine::presence::Free;
use crate::engine::Shared;
use crate::routing::queue::{Change, Queue};
use crate::store::{CallOutcome, CallRecord, CallbackQueue};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often the queue is asked what is due (members become free without a deadline).
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// The channel the shards report into (through `Persist::with_callbacks`), and its receiving
/// end for `run`.
pub fn channel() -> (Reports, mpsc::UnboundedReceiver<Report>) {
    mpsc::unbounded_channel()
}

/// Runs the queue until `cancel` fires: restored from the store, then fed by `reports` and
/// looked at every second.
pub async fn run(
    applier: Arc<Applier>,
    shared: Shared,
    shards: Starter,
    persist: Persist,
    mut reports: mpsc::UnboundedReceiver<Report>,
    cancel: CancellationToken,
) {
    let stored = {
        let applier = applier.clone();
        tokio::task::spawn_blocking(move || applier.store().callbacks(None)).await
    };
    let stored = match stored {
        Ok(Ok(entries)) => entries,
        Ok(Err(e)) => {
            eprintln!("pbx serve: cannot read the callback queue: {e}");
            Vec::new()
        }
        Err(e) => {
            eprintln!("pbx serve: cannot read the callback queue: {e}");
            Vec::new()
        }
    };
    let (mut queue, changes) = Queue::restore(stored);
    if !queue.is_empty() {
        eprintln!("pbx serve: {} callback(s) waiting", queue.len());
    }
    keep(&applier, &persist, changes, false).await;
    let mut tick = tokio::time::interval(LOOK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            report = reports.recv() => {
                let Some(report) = report else { return };
                let Some(running) = applier.running() else { continue };
                let change = match report {
                    Report::Ordered(order) => {
                        eprintln!(
                            "pbx serve: callback to {} ordered for department {} ({})",
                            order.number, order.department, order.tenant
                        );
                        Some(queue.order(order, now_ms()))
                    }
                    Report::Ended { id, attempt } => {
                        queue.ended(id, attempt, now_ms(), &running.config)
                    }
                };
                keep(&applier, &persist, change.into_iter().collect(), false).await;
            }
            _ = tick.tick() => {
                if queue.is_empty() {
                    continue;
                }
                let Some(directory) = applier.directories().borrow().clone() else { continue };
                let now = now_ms();
                let (start, changes) = {
                    let free = Free {
                        presence: &shared.presence,
                        location: shared.location.as_ref(),
                        directory: &directory,
                        now_ms: now,
                    };
                    queue.due(now, &directory.config, &free)
                };
                // Written before the calls start: a restart in between counts the attempt.
                keep(&applier, &persist, changes, true).await;
                for callback in start {
                    eprintln!(
                        "pbx serve: calling back {} for department {} ({}), attempt {}",
                        callback.number, callback.department, callback.tenant, callback.attempts
                    );
                    shards.callback(callback);
                }
            }
        }
    }
}

/// Writes `changes` to the store; entries given up `by_queue` (not by a call's attempt,
/// whose own record says it) leave a record in the call history.
async fn keep(applier: &Arc<Applier>, persist: &Persist, changes: Vec<Change>, by_queue: bool) {
    if changes.is_empty() {
        return;
    }
    let mut records = Vec::new();
    for change in &changes {
        if let Change::Removed {
            callback,
            given_up: Some(why),
        } = change
        {
            eprintln!(
                "pbx serve: callback to {} for department {} ({}) given up: {why}",
                callback.number, callback.department, callback.tenant
            );
            if by_queue {
                let now = now_ms();
                records.push(CallRecord {
                    tenant: callback.tenant.clone(),
                    caller: callback.number.clone(),
                    callee: callback.department.clone(),
                    number: callback.dialled.clone(),
                    departments: vec![callback.department.clone()],
                    note: Some(why.clone()),
                    started_ms: now,
                    ended_ms: now,
                    outcome: CallOutcome::CallbackFailed,
                    ..CallRecord::default()
                });
            }
        }
    }
    let writer = applier.clone();
    let written = tokio::task::spawn_blocking(move || {
        let store = writer.store();
        for change in changes {
            match change {
                Change::Put(c) => store.put_callback(&c)?,
                Change::Removed { callback, .. } => {
                    store.remove_callback(&callback.tenant, callback.id)?;
                }
            }
        }
        Ok::<(), crate::store::StoreError>(())
    })
    .await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            if let Some(line) = applier.store().health().report("the callback queue", &e) {
                eprintln!("pbx serve: {line}");
            }
        }
        Err(e) => eprintln!("pbx serve: the callback queue writer failed: {e}"),
    }
    for record in records {
        persist.call(Call::Finished(record));
    }
}
