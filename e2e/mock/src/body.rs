//! The response body type: a list of chunks sent one write each, optionally late, slow or cut.
//!
//! Implemented as a small poll-driven state machine instead of a task plus channel, so a plain
//! JSON answer costs one allocation and a stream needs no extra task.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// The error that makes hyper abort the connection mid-body (`x-mock-truncate`).
#[derive(Debug)]
pub struct Truncated;

impl fmt::Display for Truncated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("response truncated on purpose")
    }
}

impl std::error::Error for Truncated {}

pub struct MockBody {
    chunks: VecDeque<Bytes>,
    /// Announce an exact length (content-length) instead of chunked transfer.
    exact: bool,
    /// Chunk gap (zero: still one write per chunk, via a yield that lets hyper flush).
    gap: Duration,
    /// Abort after this many chunks.
    truncate_after: Option<usize>,
    sent: usize,
    sleep: Option<Pin<Box<Sleep>>>,
    yield_once: bool,
}

impl MockBody {
    pub fn empty() -> Self {
        Self::full(Bytes::new())
    }

    /// One chunk with a content-length.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        MockBody {
            chunks: if bytes.is_empty() { VecDeque::new() } else { VecDeque::from([bytes]) },
            exact: true,
            gap: Duration::ZERO,
            truncate_after: None,
            sent: 0,
            sleep: None,
            yield_once: false,
        }
    }

    /// Chunks streamed with chunked transfer encoding, `gap` apart.
    pub fn stream(chunks: Vec<Bytes>, gap: Duration) -> Self {
        MockBody { chunks: chunks.into(), exact: false, gap, ..Self::empty() }
    }

    /// Waits `delay` before the first byte.
    pub fn first_byte_after(mut self, delay: Duration) -> Self {
        if !delay.is_zero() {
            self.sleep = Some(Box::pin(tokio::time::sleep(delay)));
        }
        self
    }

    /// Aborts the connection after `n` chunks instead of ending the body.
    pub fn truncate_after(mut self, n: usize) -> Self {
        self.truncate_after = Some(n);
        self
    }

    /// For a single-chunk body: keeps its first `n` bytes, then aborts.
    pub fn truncate_bytes(mut self, n: usize) -> Self {
        if let Some(first) = self.chunks.front_mut() {
            let keep = n.min(first.len());
            *first = first.slice(..keep);
        }
        self.truncate_after = Some(1);
        self
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Truncated;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Truncated>>> {
        let this = &mut *self;
        if let Some(sleep) = this.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
        if this.yield_once {
            this.yield_once = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if this.truncate_after == Some(this.sent) {
            this.truncate_after = None;
            this.chunks.clear();
            return Poll::Ready(Some(Err(Truncated)));
        }
        let Some(chunk) = this.chunks.pop_front() else {
            return Poll::Ready(None);
        };
        this.sent += 1;
        if !this.chunks.is_empty() || this.truncate_after.is_some() {
            if this.gap.is_zero() {
                this.yield_once = !this.exact;
            } else {
                this.sleep = Some(Box::pin(tokio::time::sleep(this.gap)));
            }
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && self.truncate_after.is_none() && self.sleep.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact && self.truncate_after.is_none() {
            SizeHint::with_exact(self.chunks.iter().map(|c| c.len() as u64).sum())
        } else {
            SizeHint::default()
        }
    }
}
