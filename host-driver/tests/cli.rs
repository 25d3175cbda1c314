//! The `ddpnic` binary end to end: `target` serving, `identify`, `read` and `write` against
//! it, and a non-zero exit with exactly one line of reason on failure.

mod common;

use common::{expected_block, NQN};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ddpnic");

/// `ddpnic target` on an ephemeral port; killed on drop.
struct TargetProcess {
    child: Child,
    port: String,
}

impl TargetProcess {
    fn start(block_size: &str) -> Self {
        let mut child = Command::new(BIN)
            .args(["target", "--listen", "127.0.0.1:0", "--nqn", NQN, "--size", "4M", "--block-size", block_size, "--pattern"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
        let port = banner.split("127.0.0.1:").nth(1).and_then(|t| t.split_whitespace().next()).unwrap().to_string();
        Self { child, port }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).args(["-a", "127.0.0.1", "-s", &self.port, "-n", NQN]).output().unwrap()
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn identify_read_and_write_through_the_binary() {
    let target = TargetProcess::start("4096");
    let dir = std::env::temp_dir().join(format!("ddpnic-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let out = target.run(&["identify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(NQN) && text.contains("nsze 1024 blocks of 4096 bytes"), "{text}");

    let read_file = dir.join("read.bin");
    let out = target.run(&["read", "--nsid", "1", "--start-block", "7", "--block-count", "3", "--data", read_file.to_str().unwrap(), "--hdgst", "--ddgst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let data = std::fs::read(&read_file).unwrap();
    let expected: Vec<u8> = (7..10).flat_map(|lba| expected_block(lba, 4096)).collect();
    assert!(data == expected, "read data differs from the pattern");

    let write_file = dir.join("write.bin");
    let payload: Vec<u8> = (0..2 * 4096u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&write_file, &payload).unwrap();
    let out = target.run(&["write", "--start-block", "100", "--block-count", "2", "--data", write_file.to_str().unwrap(), "--ddgst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = target.run(&["read", "--start-block", "100", "--block-count", "2", "--data", read_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&read_file).unwrap() == payload, "written data did not read back");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failures_exit_non_zero_with_one_line() {
    let target = TargetProcess::start("512");
    let file = std::env::temp_dir().join(format!("ddpnic-cli-fail-{}.bin", std::process::id()));
    let file = file.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["read", "--start-block", "8191", "--block-count", "2", "--data", file], "outside namespace 1"),
        (&["read", "--start-block", "0", "--block-count", "0", "--data", file], "--block-count must be at least 1"),
        (&["read", "--nsid", "3", "--start-block", "0", "--block-count", "1", "--data", file], "Invalid Namespace or Format"),
        (&["write", "--start-block", "0", "--block-count", "1", "--data", "/nonexistent/ddpnic"], "cannot read /nonexistent/ddpnic"),
    ];
    for (args, reason) in cases {
        let out = target.run(args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(reason), "{args:?}: {err}");
    }
    // Nothing listens: the connection error is one line too.
    let out = Command::new(BIN).args(["identify", "-a", "127.0.0.1", "-s", "1", "-n", NQN]).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot connect to 127.0.0.1:1"));
}
