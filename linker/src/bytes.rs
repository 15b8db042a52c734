//! A little-endian byte buffer for the file writers.

#[derive(Default)]
pub(crate) struct Buf {
    pub data: Vec<u8>,
}

impl Buf {
    pub fn new() -> Self {
        Buf { data: Vec::new() }
    }

    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.data.push(v);
        self
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.data.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.data.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.data.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.data.extend_from_slice(v);
        self
    }

    /// Zero-pads to `len` bytes (no-op if already longer).
    pub fn pad_to(&mut self, len: u64) -> &mut Self {
        if (self.data.len() as u64) < len {
            self.data.resize(len as usize, 0);
        }
        self
    }

    /// Writes `bytes` at `offset`, growing the buffer if needed.
    pub fn put_at(&mut self, offset: u64, bytes: &[u8]) {
        let end = offset as usize + bytes.len();
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[offset as usize..end].copy_from_slice(bytes);
    }
}
