//! A request body that can be taken back when the upstream connection failed before the
//! body was read: a write that found its replica gone is then sent to the next one, as a
//! read is, instead of failing with a 502.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::proxy::Body;

/// The body as handed to the HTTP client: it takes the real body out of the shared slot
/// on its first poll, and from then on the body is spent.
pub struct Reclaimable {
    slot: Arc<Mutex<Option<Body>>>,
    taken: Option<Body>,
    end_stream: bool,
    size_hint: SizeHint,
}

/// Gives the body back if nobody polled it yet.
pub struct Reclaim(Arc<Mutex<Option<Body>>>);

pub fn reclaimable(body: Body) -> (Reclaimable, Reclaim) {
    let end_stream = body.is_end_stream();
    let size_hint = body.size_hint();
    let slot = Arc::new(Mutex::new(Some(body)));
    (Reclaimable { slot: slot.clone(), taken: None, end_stream, size_hint }, Reclaim(slot))
}

impl Reclaim {
    pub fn take(self) -> Option<Body> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

impl HttpBody for Reclaimable {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if self.taken.is_none() {
            let body = self.slot.lock().ok().and_then(|mut slot| slot.take());
            self.taken = body;
        }
        match self.taken.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            // Reclaimed for another upstream: this request is being abandoned anyway.
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.end_stream
    }

    fn size_hint(&self) -> SizeHint {
        self.size_hint
    }
}
