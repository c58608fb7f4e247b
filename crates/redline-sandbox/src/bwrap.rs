//! The bubblewrap command line: what the sandboxed command sees.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// The system folders bound read-only; `/bin`-style links to `/usr` are recreated as links.
const SYSTEM_DIRS: [&str; 6] = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64"];

const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Arguments to `bwrap` for running `argv` with `work` as `/work`.
pub(crate) fn arguments(work: &Path, network: bool, argv: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    for dir in SYSTEM_DIRS {
        match std::fs::read_link(dir) {
            Ok(target) => push(&["--symlink", &target.to_string_lossy(), dir]),
            Err(_) if Path::new(dir).is_dir() => push(&["--ro-bind", dir, dir]),
            Err(_) => {}
        }
    }
    push(&["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
    push(&["--bind", &work.to_string_lossy(), "/work", "--chdir", "/work"]);
    // bwrap's root is a scratch tmpfs; without this, `/anything` would be writable.
    push(&["--remount-ro", "/"]);
    // The host's environment (API keys among it) never reaches the sandbox.
    push(&[
        "--clearenv",
        "--setenv",
        "PATH",
        PATH,
        "--setenv",
        "HOME",
        "/work",
    ]);
    push(&["--setenv", "LANG", "C.UTF-8", "--setenv", "TERM", "dumb"]);
    push(&["--unshare-all", "--hostname", "sandbox"]);
    if network {
        push(&["--share-net"]);
    }
    // `--as-pid-1`: with bwrap's own init as pid 1, the outer bwrap exits on the init's
    // status message before reaping it, leaving a zombie wherever nothing reaps orphans (as
    // in containers whose pid 1 is not an init). The namespace still dies with the command.
    push(&[
        "--as-pid-1",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--",
    ]);
    push(argv);
    a
}

/// A uid/gid no account uses, distinct per sandbox of this process and between processes
/// (the pid picks a block), so each sandbox's RLIMIT_NPROC counts only its own processes.
pub(crate) fn fresh_identity() -> (u32, u32) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 1000;
    let id = 2_000_000 + (std::process::id() % 1000) * 1000 + n;
    (id, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_comes_last_and_the_environment_is_cleared() {
        let a = arguments(Path::new("/tmp/w"), false, &["echo", "hi"]);
        assert_eq!(&a[a.len() - 3..], ["--", "echo", "hi"]);
        assert!(a.contains(&"--clearenv".to_string()));
        assert!(a.contains(&"--unshare-all".to_string()));
        assert!(!a.contains(&"--share-net".to_string()));
        let w = a.iter().position(|x| x == "--bind").unwrap();
        assert_eq!((&a[w + 1][..], &a[w + 2][..]), ("/tmp/w", "/work"));
        assert!(arguments(Path::new("/w"), true, &["x"]).contains(&"--share-net".to_string()));
    }

    #[test]
    fn identities_differ() {
        assert_ne!(fresh_identity(), fresh_identity());
    }
}
