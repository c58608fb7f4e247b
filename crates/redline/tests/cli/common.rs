//! Shared helpers for the CLI tests: a scratch folder with an eval, a store, and the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn store(&self) -> PathBuf {
        self.path("store.db")
    }

    /// Writes `sums.toml` + `sums.jsonl` with `n` rows "What is i + i?" → 2i.
    pub fn sums_eval(&self, n: usize) -> PathBuf {
        let data: String = (1..=n)
            .map(|i| {
                format!(
                    "{{\"id\": \"s{i}\", \"input\": \"What is {i} + {i}?\", \"target\": \"{}\"}}\n",
                    2 * i
                )
            })
            .collect();
        std::fs::write(self.path("sums.jsonl"), data).unwrap();
        self.write_eval("sums.toml", "sums.jsonl", "[[scorer]]\nkind = \"exact\"\n")
    }

    pub fn write_eval(&self, name: &str, dataset: &str, rest: &str) -> PathBuf {
        let toml = format!("[eval]\nid = \"sums\"\nversion = \"1\"\n[dataset]\npath = \"{dataset}\"\n{rest}");
        std::fs::write(self.path(name), toml).unwrap();
        self.path(name)
    }

    /// A `redline` command with this scratch's store and a clean environment for keys.
    pub fn redline(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_redline"));
        c.env("REDLINE_STORE", self.store())
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("REDLINE_MODEL")
            .env_remove("REDLINE_BASE_URL");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.redline().args(args).output().unwrap()
    }

    /// Every byte of the store (database and write-ahead log).
    pub fn store_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", self.store().display()));
            if let Ok(b) = std::fs::read(&p) {
                all.extend(b);
            }
        }
        all
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// A path under the repository's suites/ folder.
pub fn shipped(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../suites")
        .join(relative)
}
