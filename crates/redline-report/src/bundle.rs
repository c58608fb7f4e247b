//! Signed bundles: a folder of artifacts, a `manifest.json` listing each file's SHA-256 and size,
//! and `manifest.sig`, an ed25519 signature over the manifest's exact bytes. Verifying re-hashes
//! every file, so a changed byte, a missing file or an added one is caught and named.

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
const MANIFEST_SCHEMA: &str = "redline.bundle/v1";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: expected {expected}")]
    BadKey { path: PathBuf, expected: &'static str },
    #[error("{path}: not a Redline bundle manifest: {reason}")]
    BadManifest { path: PathBuf, reason: String },
    #[error("{0}: the signature does not match the manifest (the manifest or the signature was changed)")]
    BadSignature(PathBuf),
    #[error("the bundle was signed by key {found}, not by the expected key {expected}")]
    WrongSigner { found: String, expected: String },
    #[error("{0}: changed since signing (its SHA-256 differs from the manifest's)")]
    Changed(PathBuf),
    #[error("{0}: listed in the manifest but missing")]
    Missing(PathBuf),
    #[error("{0}: not listed in the signed manifest (added after signing)")]
    Unlisted(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    /// The signer's ed25519 public key, hex.
    pub public_key: String,
    pub files: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative to the bundle folder, `/`-separated.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A new key pair from the operating system's random source.
pub fn generate_key() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// Writes the secret key (hex seed; owner-only permissions on Unix) to `path` and the public key
/// to `path.pub`. Refuses to overwrite an existing secret key.
pub fn write_key_pair(key: &SigningKey, path: &Path) -> Result<PathBuf, BundleError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| BundleError::Io { path: p, source }
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(path))?;
    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(key.to_bytes())).as_bytes())
        .map_err(io(path))?;
    let public = public_key_path(path);
    fs::write(
        &public,
        format!("{}\n", hex::encode(key.verifying_key().to_bytes())),
    )
    .map_err(io(&public))?;
    Ok(public)
}

pub fn public_key_path(secret: &Path) -> PathBuf {
    let mut p = secret.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

pub fn read_signing_key(path: &Path) -> Result<SigningKey, BundleError> {
    let bytes = read_hex_key(
        path,
        "a secret key file written by `redline keygen` (64 hex digits)",
    )?;
    Ok(SigningKey::from_bytes(&bytes))
}

pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, BundleError> {
    let expected = "a public key file written by `redline keygen` (64 hex digits)";
    let bytes = read_hex_key(path, expected)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| BundleError::BadKey {
        path: path.to_path_buf(),
        expected,
    })
}

fn read_hex_key(path: &Path, expected: &'static str) -> Result<[u8; 32], BundleError> {
    let text = fs::read_to_string(path).map_err(|source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = || BundleError::BadKey {
        path: path.to_path_buf(),
        expected,
    };
    let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

/// Hashes every file in `dir` (except an old manifest and signature), writes the manifest and
/// signs it.
pub fn sign_bundle(dir: &Path, key: &SigningKey) -> Result<Manifest, BundleError> {
    let mut files = Vec::new();
    for rel in list_files(dir)? {
        let path = dir.join(&rel);
        let bytes = fs::read(&path).map_err(|source| BundleError::Io { path, source })?;
        files.push(ManifestEntry {
            path: rel,
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
        });
    }
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.to_string(),
        public_key: hex::encode(key.verifying_key().to_bytes()),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| BundleError::BadManifest {
        path: dir.join(MANIFEST),
        reason: e.to_string(),
    })? + "\n";
    let signature = key.sign(text.as_bytes());
    let write = |name: &str, contents: String| {
        let path = dir.join(name);
        fs::write(&path, contents).map_err(|source| BundleError::Io { path, source })
    };
    write(MANIFEST, text)?;
    write(SIGNATURE, format!("{}\n", hex::encode(signature.to_bytes())))?;
    Ok(manifest)
}

/// Checks the signature (against `expected` when given, else against the key in the manifest)
/// and every file's hash; the first problem found is the error.
pub fn verify_bundle(dir: &Path, expected: Option<&VerifyingKey>) -> Result<Manifest, BundleError> {
    let manifest_path = dir.join(MANIFEST);
    let text = fs::read(&manifest_path).map_err(|source| BundleError::Io {
        path: manifest_path.clone(),
        source,
    })?;
    let bad_manifest = |reason: String| BundleError::BadManifest {
        path: manifest_path.clone(),
        reason,
    };
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| bad_manifest(e.to_string()))?;
    if manifest.schema != MANIFEST_SCHEMA {
        return Err(bad_manifest(format!(
            "schema `{}`, expected `{MANIFEST_SCHEMA}`",
            manifest.schema
        )));
    }
    let key_bytes: [u8; 32] = hex::decode(&manifest.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad_manifest("public_key is not 64 hex digits".into()))?;
    let signer = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| bad_manifest("public_key is not a valid ed25519 key".into()))?;
    if let Some(expected) = expected {
        if expected != &signer {
            return Err(BundleError::WrongSigner {
                found: manifest.public_key.clone(),
                expected: hex::encode(expected.to_bytes()),
            });
        }
    }
    let sig_path = dir.join(SIGNATURE);
    let sig_text = fs::read_to_string(&sig_path).map_err(|source| BundleError::Io {
        path: sig_path.clone(),
        source,
    })?;
    let sig_bytes: [u8; 64] = hex::decode(sig_text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| BundleError::BadSignature(sig_path.clone()))?;
    signer
        .verify(&text, &Signature::from_bytes(&sig_bytes))
        .map_err(|_| BundleError::BadSignature(manifest_path.clone()))?;
    for entry in &manifest.files {
        let path = dir.join(&entry.path);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BundleError::Missing(path)),
            Err(source) => return Err(BundleError::Io { path, source }),
        };
        if hex::encode(Sha256::digest(&bytes)) != entry.sha256 {
            return Err(BundleError::Changed(path));
        }
    }
    for rel in list_files(dir)? {
        if !manifest.files.iter().any(|f| f.path == rel) {
            return Err(BundleError::Unlisted(dir.join(rel)));
        }
    }
    Ok(manifest)
}

/// Every file under `dir` except the manifest and signature, relative and sorted.
fn list_files(dir: &Path) -> Result<Vec<String>, BundleError> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BundleError> {
        let io = |source| BundleError::Io {
            path: dir.to_path_buf(),
            source,
        };
        for entry in fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            if entry.file_type().map_err(io)?.is_dir() {
                walk(root, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(root) {
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(rel.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.retain(|p| p != MANIFEST && p != SIGNATURE);
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> (tempfile::TempDir, SigningKey) {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("card.html"), "<html>card</html>").expect("write");
        fs::create_dir(dir.path().join("data")).expect("mkdir");
        fs::write(dir.path().join("data/scores.jsonl"), "{\"v\":1}\n").expect("write");
        let key = SigningKey::from_bytes(&[7; 32]);
        sign_bundle(dir.path(), &key).expect("sign");
        (dir, key)
    }

    #[test]
    fn an_untouched_bundle_verifies_and_lists_every_file() {
        let (dir, key) = bundle();
        let m = verify_bundle(dir.path(), Some(&key.verifying_key())).expect("verifies");
        let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["card.html", "data/scores.jsonl"]);
    }

    #[test]
    fn one_changed_byte_is_caught_and_named() {
        let (dir, _) = bundle();
        let path = dir.path().join("data/scores.jsonl");
        let mut bytes = fs::read(&path).expect("read");
        bytes[2] ^= 1;
        fs::write(&path, bytes).expect("write");
        match verify_bundle(dir.path(), None) {
            Err(BundleError::Changed(p)) => assert_eq!(p, path),
            other => panic!("expected Changed, got {other:?}"),
        }
    }

    #[test]
    fn a_rewritten_manifest_breaks_the_signature() {
        let (dir, _) = bundle();
        let path = dir.path().join(MANIFEST);
        let text = fs::read_to_string(&path)
            .expect("read")
            .replace("\"bytes\": 17", "\"bytes\": 18");
        fs::write(&path, text).expect("write");
        assert!(matches!(
            verify_bundle(dir.path(), None),
            Err(BundleError::BadSignature(_))
        ));
    }

    #[test]
    fn missing_added_and_foreign_signer_are_each_refused() {
        let (dir, _) = bundle();
        fs::write(dir.path().join("extra.txt"), "x").expect("write");
        assert!(matches!(
            verify_bundle(dir.path(), None),
            Err(BundleError::Unlisted(_))
        ));
        fs::remove_file(dir.path().join("extra.txt")).expect("rm");
        let other = SigningKey::from_bytes(&[9; 32]).verifying_key();
        assert!(matches!(
            verify_bundle(dir.path(), Some(&other)),
            Err(BundleError::WrongSigner { .. })
        ));
        fs::remove_file(dir.path().join("card.html")).expect("rm");
        assert!(matches!(
            verify_bundle(dir.path(), None),
            Err(BundleError::Missing(_))
        ));
    }

    #[test]
    fn key_files_round_trip_and_the_secret_is_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("signing.key");
        let key = SigningKey::from_bytes(&[3; 32]);
        let public = write_key_pair(&key, &path).expect("write");
        assert_eq!(read_signing_key(&path).expect("read").to_bytes(), key.to_bytes());
        assert_eq!(read_verifying_key(&public).expect("read"), key.verifying_key());
        assert!(write_key_pair(&key, &path).is_err());
        fs::write(&path, "nothex").expect("write");
        assert!(matches!(read_signing_key(&path), Err(BundleError::BadKey { .. })));
    }
}
