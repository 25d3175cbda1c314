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
        Self::start_logging(block_size, &[], Stdio::null())
    }

    /// With extra arguments (such as -v) and stderr sent to `stderr`.
    fn start_logging(block_size: &str, extra: &[&str], stderr: impl Into<Stdio>) -> Self {
        let mut child = Command::new(BIN)
            .args(["target", "--listen", "127.0.0.1:0", "--nqn", NQN, "--size", "4M", "--block-size", block_size, "--pattern"])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
        let port = banner.split("127.0.0.1:").nth(1).and_then(|t| t.split_whitespace().next()).unwrap().to_string();
        Self { child, port }
    }

    /// Runs the tool against this target, with RUST_LOG unset unless `rust_log` gives it.
    fn run_with(&self, args: &[&str], rust_log: Option<&str>) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).args(["-a", "127.0.0.1", "-s", &self.port, "-n", NQN]).env_remove("RUST_LOG");
        if let Some(filter) = rust_log {
            cmd.env("RUST_LOG", filter);
        }
        cmd.output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, None)
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
    let out = target.run(&["read", "--nsid", "1", "--start-block", "7", "--block-count", "3", "--data", read_file.to_str().unwrap(), "--hdgst", "--ddgst", "--verify-pattern"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Quiet by default: nothing on stdout, one summary line on stderr.
    assert_eq!(stdout(&out), "");
    let summary = stderr(&out);
    assert_eq!(summary.lines().count(), 1, "{summary}");
    assert!(summary.starts_with("read 12288 bytes (0.0 MiB) in "), "{summary}");
    assert!(summary.contains(" MiB/s, hdgst on, ddgst on, pattern verified for blocks 7..10"), "{summary}");
    let data = std::fs::read(&read_file).unwrap();
    let expected: Vec<u8> = (7..10).flat_map(|lba| expected_block(lba, 4096)).collect();
    assert!(data == expected, "read data differs from the pattern");

    let write_file = dir.join("write.bin");
    let payload: Vec<u8> = (0..2 * 4096u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&write_file, &payload).unwrap();
    let out = target.run(&["write", "--start-block", "100", "--block-count", "2", "--data", write_file.to_str().unwrap(), "--ddgst"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stderr(&out);
    assert!(summary.starts_with("wrote 8192 bytes") && summary.trim_end().ends_with("hdgst off, ddgst on"), "{summary}");
    let out = target.run(&["read", "--start-block", "100", "--block-count", "2", "--data", read_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&read_file).unwrap() == payload, "written data did not read back");
    // The written blocks no longer hold the pattern: the check fails, in one line.
    let out = target.run(&["read", "--start-block", "99", "--block-count", "3", "--data", read_file.to_str().unwrap(), "--verify-pattern"]);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("block 100 does not hold the LBA pattern"), "{}", stderr(&out));
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

#[test]
fn verbose_and_rust_log_show_protocol_events_on_stderr() {
    let log = std::env::temp_dir().join(format!("ddpnic-cli-target-{}.log", std::process::id()));
    let target = TargetProcess::start_logging("512", &["-v"], std::fs::File::create(&log).unwrap());
    let file = std::env::temp_dir().join(format!("ddpnic-cli-verbose-{}.bin", std::process::id()));
    let read = ["read", "--start-block", "0", "--block-count", "4", "--data", file.to_str().unwrap(), "--hdgst"];
    let with_v: Vec<&str> = read.iter().copied().chain(["-v"]).collect();
    for out in [target.run(&with_v), target.run_with(&read, Some("ddpnic=debug"))] {
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        for event in ["TCP connected", "ICReq sent", "ICResp received", "queue connected", "controller ready", "controller shut down"] {
            assert!(err.contains(event), "no '{event}' in:\n{err}");
        }
        assert!(err.contains("hdgst=true"), "{err}");
        assert!(err.lines().last().unwrap().starts_with("read 2048 bytes"), "{err}");
    }
    // A refused Connect is logged on both sides; the tool still fails with its one line last.
    let out = Command::new(BIN)
        .args(["identify", "-v", "-a", "127.0.0.1", "-s", &target.port, "-n", "nqn.2026-01.io.ddpnic:nobody"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("Fabrics Connect refused"), "{err}");
    assert!(err.lines().last().unwrap().starts_with("ddpnic: Connect failed"), "{err}");
    drop(target);
    let target_log = std::fs::read_to_string(&log).unwrap();
    for event in ["target: connection accepted", "target: ICReq received", "maxr2t=0", "target: queue connected", "target: Connect refused"] {
        assert!(target_log.contains(event), "no '{event}' in the target's log:\n{target_log}");
    }
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(&file);
}
