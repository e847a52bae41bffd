//! The `pbx` binary: everything is in the library; see `pbx::cli`.

fn main() -> std::process::ExitCode {
    pbx::cli::run()
}
