//! A reader that makes up its bytes as it goes: gigabytes of input without a gigabyte in memory.
//! Shared by the tests and the examples (`#[path]`).

use std::pin::Pin;
use std::task::{Context, Poll};

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

const BLOCK: usize = 64 * 1024;

/// `len` pseudo-random bytes from `seed`. Each 64 KiB block differs (it starts with its number),
/// so the stream never repeats with a short period.
pub struct Generated {
    remaining: u64,
    block: Vec<u8>,
    position: usize,
    number: u64,
    /// Called once, when the given number of bytes have been produced.
    trigger: Option<(u64, Box<dyn FnOnce() + Send>)>,
    produced: u64,
}

impl Generated {
    pub fn new(seed: u64, len: u64) -> Self {
        let mut block = vec![0; BLOCK];
        rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut block);
        Self { remaining: len, block, position: BLOCK, number: 0, trigger: None, produced: 0 }
    }

    /// Runs `action` once `after` bytes have been handed out (to stop a server mid-upload).
    pub fn on(mut self, after: u64, action: impl FnOnce() + Send + 'static) -> Self {
        self.trigger = Some((after, Box::new(action)));
        self
    }

    /// Fills `out` as far as possible; 0 at the end.
    pub fn fill(&mut self, out: &mut [u8]) -> usize {
        if self.remaining == 0 || out.is_empty() {
            return 0;
        }
        if self.position == BLOCK {
            self.block[..8].copy_from_slice(&self.number.to_le_bytes());
            self.number += 1;
            self.position = 0;
        }
        let n = (BLOCK - self.position).min(out.len()).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&self.block[self.position..self.position + n]);
        self.position += n;
        self.remaining -= n as u64;
        self.produced += n as u64;
        if self.trigger.as_ref().is_some_and(|(after, _)| self.produced >= *after)
            && let Some((_, action)) = self.trigger.take()
        {
            action();
        }
        n
    }

    /// The SHA-256 (hex) of what `Generated::new(seed, len)` produces.
    pub fn digest(seed: u64, len: u64) -> String {
        let mut generated = Self::new(seed, len);
        let mut hasher = Sha256::new();
        let mut buf = vec![0; 1024 * 1024];
        loop {
            let mut filled = 0;
            while filled < buf.len() {
                let n = generated.fill(&mut buf[filled..]);
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            hasher.update(&buf[..filled]);
        }
        format!("{:x}", hasher.finalize())
    }
}

impl AsyncRead for Generated {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let out = buf.initialize_unfilled();
        let mut filled = 0;
        while filled < out.len() {
            let n = self.fill(&mut out[filled..]);
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.advance(filled);
        Poll::Ready(Ok(()))
    }
}
