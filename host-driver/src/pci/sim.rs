//! A [`Device`] over the Verilated NIC (`ddpnic_sim::Nic`): BAR0 MMIO is the sim's AXI4-Lite
//! master (each access clocks the core until it completes), DMA memory is allocated in the
//! sim's host-memory model and registered with its checker as a live region, so a NIC write
//! outside every buffer the driver handed out is an error ([`SimDevice::check`]). Dropping a
//! [`DmaBuffer`] ends its region and frees it.
//!
//! Beyond the `Device` trait, the sim has what a board gets from the cable and the clock:
//! the MAC ports ([`SimDevice::mac_send`], [`SimDevice::mac_recv`]) and time
//! ([`SimDevice::run`], [`SimDevice::cycle`]). The device is a cheap handle (`Clone`); every
//! clone drives the same NIC.
use super::{check_bar_access, Device, DmaBuffer, PciError, Result};
use ddpnic_sim::{Nic, NicConfig};
use std::sync::{Arc, Mutex, MutexGuard};

/// BAR0 size of the core (hdl/regmap: 64 KiB).
pub const SIM_BAR0_LEN: u64 = 0x1_0000;

/// Cycles [`Device::idle`] clocks: a driver waiting for an event lets the core run this long.
pub const SIM_IDLE_CYCLES: u64 = 16;

#[derive(Clone)]
pub struct SimDevice {
    nic: Arc<Mutex<Nic>>,
}

impl SimDevice {
    /// The Verilated NIC core (`ddpnic_core`) with `cfg`'s bus models.
    pub fn new(cfg: NicConfig) -> Result<SimDevice> {
        let nic = Nic::new(cfg).map_err(PciError::Invalid)?;
        Ok(SimDevice { nic: Arc::new(Mutex::new(nic)) })
    }

    /// The NIC core with the sim's default bus models, without the write log (long runs).
    pub fn core() -> Result<SimDevice> {
        let mut cfg = NicConfig::core().ok_or_else(|| PciError::Invalid("ddpnic-sim was built without ddpnic_core".into()))?;
        cfg.write_log = false;
        SimDevice::new(cfg)
    }

    /// The simulated NIC itself (MAC ports, clock, host memory, statistics).
    pub fn nic(&self) -> MutexGuard<'_, Nic> {
        self.nic.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a frame (without FCS) on the MAC receive port.
    pub fn mac_send(&self, frame: Vec<u8>) {
        self.nic().send_frame_with(frame, false)
    }

    /// The next frame the NIC transmitted on its MAC port; a frame the core aborted (tx DMA
    /// read error) is dropped here, as a MAC drops it.
    pub fn mac_recv(&self) -> Option<Vec<u8>> {
        let mut nic = self.nic();
        while let Some(f) = nic.recv_frame() {
            if !f.aborted {
                return Some(f.data);
            }
        }
        None
    }

    /// Clocks the NIC `cycles` cycles.
    pub fn run(&self, cycles: u64) {
        self.nic().run(cycles)
    }

    /// Cycles since the NIC was built.
    pub fn cycle(&self) -> u64 {
        self.nic().cycle()
    }

    /// No frame waiting for the MAC receive port, no DMA or MMIO in flight.
    pub fn bus_idle(&self) -> bool {
        self.nic().bus_idle()
    }

    /// Every error the sim found (DMA outside a live region, protocol), as one message.
    pub fn check(&self) -> std::result::Result<(), String> {
        self.nic().check()
    }
}

impl Device for SimDevice {
    fn bar0_len(&self) -> u64 {
        SIM_BAR0_LEN
    }

    fn read32(&self, offset: u64) -> Result<u32> {
        check_bar_access(offset, SIM_BAR0_LEN)?;
        self.nic().try_read32(offset as u32).map_err(|e| PciError::Invalid(e.to_string()))
    }

    fn write32(&self, offset: u64, value: u32) -> Result<()> {
        check_bar_access(offset, SIM_BAR0_LEN)?;
        self.nic().try_write32(offset as u32, value).map_err(|e| PciError::Invalid(e.to_string()))
    }

    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer> {
        let len = len.div_ceil(4096).max(1) * 4096;
        let mut nic = self.nic();
        let iova = nic.alloc(len as u64, 4096);
        let region = nic.add_region(iova, len as u64, format!("dma buffer {len} bytes"));
        let (ptr, have) = nic.host_ptr(iova).ok_or_else(|| PciError::Invalid(format!("sim allocation at {iova:#x} has no host memory")))?;
        assert!(have >= len, "sim allocation shorter than asked");
        drop(nic);
        let owner = self.nic.clone();
        let release = Box::new(move || {
            let mut nic = owner.lock().unwrap_or_else(|p| p.into_inner());
            nic.remove_region(region);
            nic.free(iova);
        });
        // SAFETY: the sim's allocations live in heap blocks that never move until `free`,
        // which only the release closure calls.
        Ok(unsafe { DmaBuffer::new(ptr, len, iova, release) })
    }

    fn idle(&self) {
        self.run(SIM_IDLE_CYCLES)
    }

    fn describe(&self) -> String {
        let nic = self.nic();
        format!("simulated NIC ({} in Verilator, cycle {})", nic.top(), nic.cycle())
    }
}
