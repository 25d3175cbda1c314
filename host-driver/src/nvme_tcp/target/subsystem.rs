//! State shared by all connections: the namespaces and the controllers (one per
//! association, created by an admin queue Connect).

use super::config::TargetConfig;
use super::namespace::RamNamespace;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct ControllerState {
    pub cc: u32,
    pub csts: u32,
    pub io_queues: u16,
}

pub struct Subsystem {
    pub config: TargetConfig,
    pub namespaces: Vec<Arc<RamNamespace>>,
    controllers: Mutex<(u16, HashMap<u16, ControllerState>)>,
}

impl Subsystem {
    pub fn new(config: TargetConfig) -> Self {
        let namespaces = config.namespaces.iter().map(|c| Arc::new(RamNamespace::new(c))).collect();
        Self { config, namespaces, controllers: Mutex::new((0, HashMap::new())) }
    }

    /// 1-based namespace lookup.
    pub fn namespace(&self, nsid: u32) -> Option<&Arc<RamNamespace>> {
        (nsid as usize).checked_sub(1).and_then(|i| self.namespaces.get(i))
    }

    pub fn create_controller(&self) -> u16 {
        let mut guard = self.controllers.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 = guard.0 % 0xFFEF + 1;
        let id = guard.0;
        guard.1.insert(id, ControllerState::default());
        id
    }

    pub fn remove_controller(&self, cntlid: u16) {
        self.controllers.lock().unwrap_or_else(|p| p.into_inner()).1.remove(&cntlid);
    }

    /// Runs `f` on the controller's state; None if it does not exist.
    pub fn with_controller<R>(&self, cntlid: u16, f: impl FnOnce(&mut ControllerState) -> R) -> Option<R> {
        let mut guard = self.controllers.lock().unwrap_or_else(|p| p.into_inner());
        guard.1.get_mut(&cntlid).map(f)
    }
}
