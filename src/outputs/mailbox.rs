//! The latest-value mailbox between a strip's handle (the engine's side) and the worker thread that owns
//! its I/O (the serial device, the DDP sender): the newest frame with a generation number, how far the
//! worker has delivered, the status it reports, and the worker's own control flags (`C`), under one
//! mutex with one condition variable. A newer frame replaces one not sent yet: never a queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::status::DeviceStatus;
use crate::color::Rgb;

/// What the mailbox holds.
#[derive(Debug)]
pub struct Slot<C> {
    /// The frame to show, and the number of [`Mailbox::show`] calls so far.
    pub frame: Option<Arc<Vec<Rgb>>>,
    pub frame_gen: u64,
    /// The generation of the last frame the worker delivered.
    pub delivered_gen: u64,
    pub status: DeviceStatus,
    /// The worker's own requests and flags (stop, identify…).
    pub control: C,
}

/// See the module doc.
#[derive(Debug)]
pub struct Mailbox<C> {
    slot: Mutex<Slot<C>>,
    cv: Condvar,
}

impl<C> Mailbox<C> {
    pub fn new(status: DeviceStatus, control: C) -> Self {
        Self {
            slot: Mutex::new(Slot {
                frame: None,
                frame_gen: 0,
                delivered_gen: 0,
                status,
                control,
            }),
            cv: Condvar::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Slot<C>> {
        self.slot.lock()
    }

    /// Wakes whoever waits (after a change made through [`Mailbox::lock`]).
    pub fn notify(&self) {
        self.cv.notify_all();
    }

    /// Waits while `busy` holds, at most until `deadline` (`None`: no deadline); returns the guard.
    pub fn wait_while<'a>(
        &self,
        mut slot: MutexGuard<'a, Slot<C>>,
        deadline: Option<Instant>,
        mut busy: impl FnMut(&mut Slot<C>) -> bool,
    ) -> MutexGuard<'a, Slot<C>> {
        match deadline {
            Some(d) => {
                self.cv.wait_while_until(&mut slot, &mut busy, d);
            }
            None => self.cv.wait_while(&mut slot, &mut busy),
        }
        slot
    }

    /// Makes `frame` the frame to show. Never blocks: a newer frame replaces one not sent yet.
    pub fn show(&self, frame: Vec<Rgb>) {
        let mut slot = self.lock();
        slot.frame = Some(Arc::new(frame));
        slot.frame_gen += 1;
        drop(slot);
        self.notify();
    }

    /// The worker delivered the frame of `generation`.
    pub fn delivered(&self, generation: u64) {
        let mut slot = self.lock();
        slot.delivered_gen = slot.delivered_gen.max(generation);
        drop(slot);
        self.notify();
    }

    /// The current status.
    pub fn status(&self) -> DeviceStatus {
        self.lock().status.clone()
    }

    /// Waits until the last frame passed to [`Mailbox::show`] was delivered. False on timeout.
    pub fn wait_delivered(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let slot = self.wait_while(self.lock(), deadline, |s| s.delivered_gen < s.frame_gen);
        slot.delivered_gen >= slot.frame_gen
    }

    /// Waits until the status satisfies `pred`; returns it, or `None` on timeout.
    pub fn wait_status(
        &self,
        timeout: Duration,
        pred: impl Fn(&DeviceStatus) -> bool,
    ) -> Option<DeviceStatus> {
        let deadline = Instant::now().checked_add(timeout);
        let slot = self.wait_while(self.lock(), deadline, |s| !pred(&s.status));
        pred(&slot.status).then(|| slot.status.clone())
    }
}
