//! Command identifiers of one queue: 0..queue_size, recycled on completion. The range is
//! kept dense because an offloading NIC indexes its tag table by CID.

pub struct CidPool {
    free: Vec<u16>,
}

impl CidPool {
    pub fn new(queue_size: u16) -> Self {
        Self { free: (0..queue_size).rev().collect() }
    }

    pub fn take(&mut self) -> Option<u16> {
        self.free.pop()
    }

    pub fn give_back(&mut self, cid: u16) {
        self.free.push(cid);
    }
}
