//! The sandbox's promises, each tried for real: no network, nothing written outside /work,
//! no host environment, fork bombs and memory hogs stopped, the whole tree killed.
//! These need bubblewrap; without it they fail when REDLINE_REQUIRE_SANDBOX is set (as the
//! test script sets it) and otherwise skip with a note.

use std::time::{Duration, Instant};

use redline_sandbox::{Backend, Limits, Sandbox, SandboxError, SandboxSpec};

fn sandbox_with(limits: Limits) -> Option<Sandbox> {
    match Backend::detect() {
        Ok(backend) => Some(
            Sandbox::create(&SandboxSpec {
                backend,
                limits,
                network: false,
            })
            .unwrap(),
        ),
        Err(e) if std::env::var_os("REDLINE_REQUIRE_SANDBOX").is_some() => panic!("{e}"),
        Err(e) => {
            eprintln!("skipping: {e}");
            None
        }
    }
}

fn sandbox() -> Option<Sandbox> {
    sandbox_with(Limits::default())
}

/// Processes whose owner is the sandbox's work directory's owner (the sandbox user, when the
/// tests run as root).
fn processes_owned_like(path: &std::path::Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(path).unwrap().uid();
    if uid == 0 {
        return 0; // not root: the sandbox runs as the test's own user, nothing to count apart
    }
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == uid))
        .inspect(|e| {
            let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
            eprintln!(
                "left over: {}",
                status
                    .lines()
                    .filter(|l| l.starts_with("Name")
                        || l.starts_with("State")
                        || l.starts_with("PPid")
                        || l.starts_with("Pid")
                        || l.starts_with("NSpid"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        })
        .count()
}

#[tokio::test]
async fn commands_run_with_stdin_exit_codes_and_state_between_them() {
    let Some(s) = sandbox() else { return };
    let out = s
        .exec(&["sh", "-c", "cat; echo; exit 3"], Some(b"fed"))
        .await
        .unwrap();
    assert_eq!(out.stdout, "fed\n");
    assert_eq!(out.exit_code, Some(3));
    assert!(!out.success());
    assert!(s
        .exec(&["sh", "-c", "pwd > where.txt"], None)
        .await
        .unwrap()
        .success());
    assert_eq!(s.read_file("where.txt").await.unwrap().stdout, "/work\n");
    assert!(s.write_file("deep/er/file.txt", b"x y").await.unwrap().success());
    assert_eq!(s.read_file("/work/deep/er/file.txt").await.unwrap().stdout, "x y");
    assert!(s.list_dir(".").await.unwrap().stdout.contains("deep"));
    assert!(!s.read_file("missing").await.unwrap().success());
}

#[tokio::test]
async fn copy_in_places_a_tree_and_drop_removes_the_work_dir() {
    let Some(s) = sandbox() else { return };
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("a/b")).unwrap();
    std::fs::write(src.path().join("a/b/c.txt"), "deep").unwrap();
    std::fs::write(src.path().join("top.txt"), "top").unwrap();
    s.copy_in(src.path()).unwrap();
    let out = s
        .exec(&["sh", "-c", "cat a/b/c.txt top.txt && echo > a/b/new"], None)
        .await
        .unwrap();
    assert_eq!(out.stdout, "deeptop");
    assert!(out.success(), "{out:?}");
    let dir = s.host_work_dir().to_path_buf();
    assert!(dir.join("a/b/new").exists());
    drop(s);
    assert!(!dir.exists());
}

#[tokio::test]
async fn there_is_no_network() {
    let Some(s) = sandbox() else { return };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('CONNECTED')\nexcept OSError as e:\n    print('refused', e)\n"
    );
    let out = s.exec(&["python3", "-"], Some(code.as_bytes())).await.unwrap();
    assert!(out.stdout.starts_with("refused"), "{out:?}");
    // The network namespace has a loopback interface only.
    let links = s
        .exec(&["sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1"], None)
        .await
        .unwrap();
    assert_eq!(
        links.stdout.split_whitespace().collect::<Vec<_>>(),
        ["lo"],
        "{links:?}"
    );
}

#[tokio::test]
async fn nothing_outside_the_work_dir_is_writable_or_even_there() {
    let Some(s) = sandbox() else { return };
    for target in ["/etc/owned", "/usr/owned", "/owned"] {
        let out = s
            .exec(&["sh", "-c", &format!("echo x > {target}")], None)
            .await
            .unwrap();
        assert!(!out.success(), "{target}: {out:?}");
        assert!(!std::path::Path::new(target).exists());
    }
    // A host file outside the sandbox: its folder is not mounted inside at all.
    let host = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    std::fs::write(host.path().join("secret.txt"), "host only").unwrap();
    let path = host.path().join("secret.txt");
    let out = s.exec(&["cat", &path.to_string_lossy()], None).await.unwrap();
    assert!(!out.success() && !out.stdout.contains("host only"), "{out:?}");
    // /tmp inside is private and empty.
    let out = s.exec(&["sh", "-c", "ls -A /tmp | wc -l"], None).await.unwrap();
    assert_eq!(out.stdout.trim(), "0");
}

#[tokio::test]
async fn the_host_environment_does_not_reach_the_sandbox() {
    std::env::set_var("REDLINE_SECRET_CANARY", "xyz-must-not-leak");
    let Some(s) = sandbox() else { return };
    let out = s.exec(&["env"], None).await.unwrap();
    assert!(!out.stdout.contains("xyz-must-not-leak"), "{}", out.stdout);
    assert!(out.stdout.contains("HOME=/work"));
}

#[tokio::test]
async fn a_fork_bomb_is_contained_and_killed() {
    let Some(s) = sandbox_with(Limits {
        max_processes: 32,
        ..Limits::default()
    }) else {
        return;
    };
    let started = Instant::now();
    let out = s
        .exec_with_timeout(&["bash", "-c", ":(){ :|:& };:"], None, Duration::from_secs(4))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // Either the bomb fizzled on the process limit or the timeout killed it; nothing is left.
    assert!(out.timed_out || out.exit_code.is_some(), "{out:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processes_owned_like(s.host_work_dir()), 0);
    // The process limit held: a fresh command inside cannot start more than the cap.
    let counted = s
        .exec_with_timeout(
            &[
                "bash",
                "-c",
                "for i in $(seq 100); do sleep 5 & done 2>/dev/null; jobs -p | wc -l",
            ],
            None,
            Duration::from_secs(4),
        )
        .await
        .unwrap();
    let started_jobs: u32 = counted.stdout.trim().parse().unwrap_or(0);
    assert!(started_jobs < 32, "{counted:?}");
    assert!(
        s.exec(&["true"], None).await.unwrap().success(),
        "the sandbox still works after"
    );
}

#[tokio::test]
async fn a_memory_hog_fails_under_the_limit() {
    let Some(s) = sandbox_with(Limits {
        memory_bytes: 256 << 20,
        ..Limits::default()
    }) else {
        return;
    };
    let out = s
        .exec(
            &["python3", "-c", "b = bytearray(4 << 30); print('ALLOCATED')"],
            None,
        )
        .await
        .unwrap();
    assert!(!out.success() && !out.stdout.contains("ALLOCATED"), "{out:?}");
    assert!(out.stderr.contains("MemoryError"), "{out:?}");
}

#[tokio::test]
async fn a_timeout_kills_the_command_and_its_background_children() {
    let Some(s) = sandbox() else { return };
    let started = Instant::now();
    let out = s
        .exec_with_timeout(
            &["sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000"],
            None,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert!(out.timed_out);
    assert!(started.elapsed() < Duration::from_secs(6));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processes_owned_like(s.host_work_dir()), 0);
    // Background children of a command that exits normally die with it too.
    let out = s
        .exec(&["sh", "-c", "sleep 1000 & echo started"], None)
        .await
        .unwrap();
    assert_eq!(out.stdout, "started\n");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processes_owned_like(s.host_work_dir()), 0);
}

#[tokio::test]
async fn output_is_capped() {
    let Some(s) = sandbox_with(Limits {
        output_bytes: 1000,
        ..Limits::default()
    }) else {
        return;
    };
    let out = s.exec(&["sh", "-c", "yes | head -c 100000"], None).await.unwrap();
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.truncated && out.success());
}

#[test]
fn a_missing_bwrap_is_explained() {
    std::env::set_var("REDLINE_BWRAP", "/nonexistent/bwrap");
    let err = Backend::detect().unwrap_err();
    std::env::remove_var("REDLINE_BWRAP");
    assert!(matches!(err, SandboxError::NoBubblewrap { .. }));
    let text = err.to_string();
    assert!(
        text.contains("bubblewrap") && text.contains("/nonexistent/bwrap"),
        "{text}"
    );
}
