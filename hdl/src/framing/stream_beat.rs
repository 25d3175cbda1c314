//! A beat of a tracker stream as the framing blocks pass it on (`PduStreamAligner` ->
//! `PduTailStore` -> decoder and walk), in the models and in tests, and the output ports every
//! block that emits streams has: `m_valid`, `m_data`, `m_first`, `m_last`, `m_len`, `m_stop`,
//! `m_flow`, `m_restart`, `m_lose`.
use num_bigint::BigUint;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamBeat {
    pub data: Vec<u8>,
    pub first: bool,
    pub last: bool,
    /// Stream bytes in the beat (64 but on a last beat).
    pub len: usize,
    /// Lanes `stop..` are not walked.
    pub stop: usize,
    pub flow: u64,
    /// On a first beat: the walk restarts at lane 23 (sk_add) / the flow lost bytes (a gap).
    pub restart: bool,
    pub lose: bool,
}

/// The output ports of a stream, in the order [`replay_outputs`] gives their values.
pub const STREAM_OUTPUTS: [(&str, usize); 9] = [("m_valid", 1), ("m_data", 512), ("m_first", 1), ("m_last", 1), ("m_len", 7), ("m_stop", 7), ("m_flow", 12), ("m_restart", 1), ("m_lose", 1)];

/// What a Verilator replay must see on [`STREAM_OUTPUTS`] after a cycle whose output is `beat`:
/// (values, care masks). Without a beat only `m_valid` matters.
pub fn replay_outputs(beat: Option<&StreamBeat>) -> (Vec<BigUint>, Vec<BigUint>) {
    let big = |v: u64| BigUint::from(v);
    match beat {
        Some(b) => (
            vec![big(1), BigUint::from_bytes_le(&b.data), big(b.first.into()), big(b.last.into()), big(b.len as u64), big(b.stop as u64), big(b.flow), big(b.restart.into()), big(b.lose.into())],
            STREAM_OUTPUTS.iter().map(|&(_, bits)| (big(1) << bits) - 1u8).collect(),
        ),
        None => (vec![big(0); 9], [vec![big(1)], vec![big(0); 8]].concat()),
    }
}

/// Sets a stream block's outputs from its model's beat (the ports are fields of each block).
#[macro_export]
macro_rules! drive_stream_outputs {
    ($block:expr, $beat:expr) => {
        match $beat {
            Some(b) => {
                $block.m_valid.next = true;
                $block.m_data.next = $crate::bytes::bits_from_lanes(&b.data);
                $block.m_first.next = b.first;
                $block.m_last.next = b.last;
                $block.m_len.next = (b.len as u64).into();
                $block.m_stop.next = (b.stop as u64).into();
                $block.m_flow.next = b.flow.into();
                $block.m_restart.next = b.restart;
                $block.m_lose.next = b.lose;
            }
            None => $block.m_valid.next = false,
        }
    };
}

/// Connects a stream block's outputs (in `Logic::connect`).
#[macro_export]
macro_rules! connect_stream_outputs {
    ($block:expr) => {
        $block.m_valid.connect();
        $block.m_data.connect();
        $block.m_first.connect();
        $block.m_last.connect();
        $block.m_len.connect();
        $block.m_stop.connect();
        $block.m_flow.connect();
        $block.m_restart.connect();
        $block.m_lose.connect();
    };
}

/// Reads a stream block's outputs after a clock edge (tests).
#[macro_export]
macro_rules! read_stream_outputs {
    ($block:expr) => {
        $block.m_valid.val().then(|| $crate::framing::stream_beat::StreamBeat {
            data: $crate::bytes::lanes_from_bits($block.m_data.val()),
            first: $block.m_first.val(),
            last: $block.m_last.val(),
            len: $block.m_len.val().to_u64() as usize,
            stop: $block.m_stop.val().to_u64() as usize,
            flow: $block.m_flow.val().to_u64(),
            restart: $block.m_restart.val(),
            lose: $block.m_lose.val(),
        })
    };
}
