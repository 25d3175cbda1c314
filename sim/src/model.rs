//! The Verilated models linked into this crate and direct access to their ports.
//!
//! build.rs generates a C++ shim per top with a table of port pointers (Verilator's own port
//! storage); Rust reads and writes ports through those pointers, so a clock cycle costs two
//! FFI calls (two `eval()`s) however many ports the bus models touch.
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;

#[repr(C)]
pub(crate) struct RawPort {
    name: *const c_char,
    width: u32,
    output: u32,
    ptr: *mut c_void,
}

#[allow(dead_code)]
pub(crate) struct ModelFns {
    pub name: &'static str,
    /// "in 512 s_axis_rx_tdata\n..." as parsed from the Verilated header
    pub ports: &'static str,
    pub new: unsafe extern "C" fn() -> *mut c_void,
    pub free: unsafe extern "C" fn(*mut c_void),
    pub eval: unsafe extern "C" fn(*mut c_void),
    pub ports_fn: unsafe extern "C" fn(*mut c_void, *mut usize) -> *const RawPort,
    pub trace_open: unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int,
    pub trace_dump: unsafe extern "C" fn(*mut c_void, u64),
    pub trace_close: unsafe extern "C" fn(*mut c_void),
}

include!(concat!(env!("OUT_DIR"), "/models.rs"));

/// Names of the Verilated tops built into this crate (`sim_testtop`, and `ddpnic_core` once the
/// hdl crate provides it).
pub fn tops() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.name).collect()
}

/// A top's port as Verilator stores it: widths <= 8, 16, 32, 64 bits in u8/u16/u32/u64,
/// wider ones as little-endian arrays of u32 words (bit 0 in word 0).
#[derive(Clone, Copy, Debug)]
pub struct Sig {
    ptr: *mut u8,
    width: u32,
}

impl Sig {
    pub fn width(&self) -> u32 {
        self.width
    }

    #[inline]
    pub fn get(&self) -> u64 {
        unsafe {
            match self.width {
                0..=8 => *self.ptr as u64,
                9..=16 => *(self.ptr as *const u16) as u64,
                17..=32 => *(self.ptr as *const u32) as u64,
                33..=64 => *(self.ptr as *const u64),
                _ => {
                    let w = self.ptr as *const u32;
                    (*w as u64) | (*w.add(1) as u64) << 32
                }
            }
        }
    }

    #[inline]
    pub fn get_bit(&self) -> bool {
        unsafe { *self.ptr & 1 == 1 }
    }

    #[inline]
    pub fn set(&self, v: u64) {
        let v = if self.width >= 64 { v } else { v & ((1u64 << self.width) - 1) };
        unsafe {
            match self.width {
                0..=8 => *self.ptr = v as u8,
                9..=16 => *(self.ptr as *mut u16) = v as u16,
                17..=32 => *(self.ptr as *mut u32) = v as u32,
                33..=64 => *(self.ptr as *mut u64) = v,
                _ => {
                    let mut b = vec![0u8; self.bytes()];
                    b[..8].copy_from_slice(&v.to_le_bytes());
                    self.set_bytes(&b);
                }
            }
        }
    }

    /// Storage size in bytes.
    #[inline]
    pub fn bytes(&self) -> usize {
        match self.width {
            0..=8 => 1,
            9..=16 => 2,
            17..=32 => 4,
            33..=64 => 8,
            w => w.div_ceil(32) as usize * 4,
        }
    }

    /// Sets the port from little-endian bytes (byte k = bits 8k+7..8k); missing bytes are 0.
    #[inline]
    pub fn set_bytes(&self, data: &[u8]) {
        let n = self.bytes();
        let k = data.len().min(n);
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr, k);
            if k < n {
                std::ptr::write_bytes(self.ptr.add(k), 0, n - k);
            }
        }
    }

    /// Copies the port's value into `out` as little-endian bytes.
    #[inline]
    pub fn get_bytes(&self, out: &mut [u8]) {
        let k = out.len().min(self.bytes());
        unsafe { std::ptr::copy_nonoverlapping(self.ptr, out.as_mut_ptr(), k) }
    }
}

#[cfg(not(target_endian = "little"))]
compile_error!("ddpnic-sim maps Verilator's port storage directly and needs a little-endian host");

pub struct PortInfo {
    pub name: String,
    pub width: u32,
    pub output: bool,
    pub(crate) sig: Sig,
}

/// One instance of a Verilated top.
pub struct Model {
    fns: &'static ModelFns,
    handle: *mut c_void,
    pub ports: Vec<PortInfo>,
    /// storage for ports the top lacks (kept at zero for outputs); boxed so the signals'
    /// pointers stay valid while the Vec grows
    #[allow(clippy::vec_box)]
    _dummies: Vec<Box<[u64; 8]>>,
}

impl Model {
    pub fn new(top: &str) -> Option<Model> {
        let fns = MODELS.iter().find(|m| m.name == top)?;
        let handle = unsafe { (fns.new)() };
        let mut n = 0usize;
        let raw = unsafe { std::slice::from_raw_parts((fns.ports_fn)(handle, &mut n), n) };
        let ports = raw
            .iter()
            .map(|p| PortInfo {
                name: unsafe { CStr::from_ptr(p.name) }.to_string_lossy().into_owned(),
                width: p.width,
                output: p.output != 0,
                sig: Sig { ptr: p.ptr as *mut u8, width: p.width },
            })
            .collect();
        Some(Model { fns, handle, ports, _dummies: Vec::new() })
    }

    pub fn name(&self) -> &'static str {
        self.fns.name
    }

    /// The port called `name`; `None` when the top has no such port.
    pub fn port(&self, name: &str) -> Option<Sig> {
        self.ports.iter().find(|p| p.name == name).map(|p| p.sig)
    }

    /// The port, or a detached zero signal of `width` bits when the top lacks it (recorded in
    /// `missing`). Panics when the port exists with another width.
    pub(crate) fn port_or_dummy(&mut self, name: &str, width: u32, output: bool, missing: &mut Vec<String>) -> Sig {
        if let Some(p) = self.ports.iter().find(|p| p.name == name) {
            assert_eq!(p.width, width, "{}: port {name} is {} bits, the contract says {width}", self.fns.name, p.width);
            assert_eq!(p.output, output, "{}: port {name} has the wrong direction", self.fns.name);
            return p.sig;
        }
        missing.push(name.to_string());
        let mut b = Box::new([0u64; 8]);
        let sig = Sig { ptr: b.as_mut_ptr() as *mut u8, width };
        self._dummies.push(b);
        sig
    }

    #[inline]
    pub fn eval(&mut self) {
        unsafe { (self.fns.eval)(self.handle) }
    }

    pub fn trace_open(&mut self, path: &Path) -> std::io::Result<()> {
        let c = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| std::io::Error::other(e.to_string()))?;
        if unsafe { (self.fns.trace_open)(self.handle, c.as_ptr()) } != 0 {
            return Err(std::io::Error::other(format!("cannot open VCD {}", path.display())));
        }
        Ok(())
    }

    #[inline]
    pub fn trace_dump(&mut self, time: u64) {
        unsafe { (self.fns.trace_dump)(self.handle, time) }
    }

    pub fn trace_close(&mut self) {
        unsafe { (self.fns.trace_close)(self.handle) }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { (self.fns.free)(self.handle) }
    }
}

// A model is used from one thread at a time (&mut self everywhere); moving it is fine.
unsafe impl Send for Model {}
