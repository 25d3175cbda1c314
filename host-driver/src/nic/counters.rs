//! The core's statistics block: 64-bit counters named by `ddpnic_regmap::COUNTERS` (the
//! contract's `rx_nvme_tcp_*` first, then the debugging ones). Read LO then HI (the LO read
//! latches HI). Counters only clear at the core's reset, so runs report differences
//! ([`Counters::since`]).
use super::regs::Regs;
use crate::pci::{Device, Result};
use ddpnic_regmap as rm;
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub Vec<(&'static str, u64)>);

impl Counters {
    pub fn read<D: Device + ?Sized>(dev: &D, regs: &Regs) -> Result<Counters> {
        let mut out = Vec::with_capacity(rm::COUNTERS.len());
        for (k, (name, _)) in rm::COUNTERS.iter().enumerate() {
            let lo = dev.read32(regs.counter(k))?;
            let hi = dev.read32(regs.counter(k) + 4)?;
            out.push((*name, u64::from(lo) | u64::from(hi) << 32));
        }
        Ok(Counters(out))
    }

    /// A counter by its regmap name (0 for a name the core does not count).
    pub fn get(&self, name: &str) -> u64 {
        self.0.iter().find(|c| c.0 == name).map_or(0, |c| c.1)
    }

    /// Adds to a counter (the driver's own events, e.g. `rx_nvme_tcp_drop`).
    pub fn add(&mut self, name: &'static str, n: u64) {
        match self.0.iter_mut().find(|c| c.0 == name) {
            Some(c) => c.1 += n,
            None => self.0.push((name, n)),
        }
    }

    /// What happened between `earlier` and this reading.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters(self.0.iter().map(|&(n, v)| (n, v.wrapping_sub(earlier.get(n)))).collect())
    }

    /// One JSON object, counter name -> value, in the regmap's order (names are plain
    /// identifiers, values integers).
    pub fn to_json(&self) -> String {
        let fields: Vec<String> = self.0.iter().map(|&(n, v)| format!("{}:{v}", serde_json::Value::from(n))).collect();
        format!("{{{}}}", fields.join(","))
    }
}

/// A two-column table: name, value, and the regmap's description.
impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.0.iter().map(|c| c.0.len()).max().unwrap_or(0);
        for &(name, v) in &self.0 {
            let doc = rm::COUNTERS.iter().find(|c| c.0 == name).map_or("", |c| c.1);
            writeln!(f, "{name:<w$}  {v:>14}  {doc}")?;
        }
        Ok(())
    }
}
