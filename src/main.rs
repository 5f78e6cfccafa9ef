//! The `hookflow` binary: a thin shell over the library's command line.

/// mimalloc, not glibc's malloc: under load a quarter of the server's cycles went to glibc's
/// malloc, free and consolidation of the small records every request makes.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    #[cfg(not(feature = "system-alloc"))]
    hookflow::allocator::apply_settings();
    hookflow::cli::main()
}
