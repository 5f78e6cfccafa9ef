//! A streamed response body written by blocking code (an export, a backup): the writer runs on
//! the blocking pool and hands chunks to the body through a small channel, so neither side
//! holds the whole document in memory and a slow client slows the writer down.

use bytes::Bytes;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Bytes per chunk of a streamed body.
const CHUNK: usize = 64 * 1024;

/// One piece of the body, or the error that cuts it short.
pub type Chunk = Result<Bytes, std::io::Error>;

/// A writer and the body stream it feeds. An `Err` sent on the writer's channel after the 200
/// went out can only cut the body short: the client sees a broken transfer, never a document
/// that looks complete.
pub fn channel() -> (ChunkWriter, Chunks) {
    let (tx, rx) = mpsc::channel(4);
    (
        ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            tx,
        },
        Chunks(rx),
    )
}

/// Buffers a blocking writer's output into chunks for the response body.
pub struct ChunkWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<Chunk>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }

    /// A handle that can cut the body short after this writer is gone.
    pub fn breaker(&self) -> Breaker {
        Breaker(self.tx.clone())
    }
}

/// Cuts a streamed body short (see [`channel`]).
pub struct Breaker(mpsc::Sender<Chunk>);

impl Breaker {
    /// Ends the body with an error instead of its normal end.
    pub fn fail(self, message: String) {
        let _ = self.0.blocking_send(Err(std::io::Error::other(message)));
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChunkWriter {
    fn drop(&mut self) {
        // What a writer left in its buffer still belongs to the body.
        let _ = self.send();
    }
}

/// The receiving end as the body's stream.
pub struct Chunks(mpsc::Receiver<Chunk>);

impl futures_util::Stream for Chunks {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        self.0.poll_recv(cx)
    }
}
