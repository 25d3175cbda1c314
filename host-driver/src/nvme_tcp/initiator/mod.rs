//! The NVMe/TCP host: queues (one TCP connection each) that pipeline commands with
//! out-of-order completions, and a controller that runs the Fabrics bring-up sequence,
//! keep-alive, I/O splitting and shutdown.

mod error;
mod options;
mod handshake;
mod cids;
pub(crate) mod ranges;
mod queue;
mod keep_alive;
mod controller;

pub use controller::Controller;
pub use error::{Error, Violation};
pub use options::ConnectOptions;
pub use queue::{Command, Completion, Queue, Transfer};
