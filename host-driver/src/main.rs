//! `ddpnic`: the command-line tool. Everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    ddpnic::cli::main()
}
