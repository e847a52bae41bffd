//! The `pbx` binary: everything is in the library; see `pbx::cli`.
//!
//! The server allocates on one thread and frees on another all day long (a message parsed by a
//! socket task, dropped by its engine shard); mimalloc keeps that cheap where glibc's arenas
//! spent half the CPU consolidating and contending.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    pbx::cli::run()
}
