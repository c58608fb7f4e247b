//! Reading a GGUF header and typed access to its metadata, with errors that name the file and key.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};

use super::LocalModelError;

const GGUF_MAGIC: &[u8; 4] = b"GGUF";

/// Opens `path` and parses its GGUF header (metadata and tensor index, not the tensors). The
/// reader is buffered: the header of a small model holds ~100k short strings (vocabulary and
/// merges), one read call each.
pub(crate) fn read_header(path: &Path) -> Result<(BufReader<File>, Content), LocalModelError> {
    let file = File::open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => LocalModelError::Missing {
            path: path.to_path_buf(),
        },
        _ => LocalModelError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let mut reader = BufReader::new(file);
    let io = |source| LocalModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Check the magic first so a wrong file gets a plain message instead of a parser error.
    let mut magic = [0u8; 4];
    match reader.read_exact(&mut magic) {
        Ok(()) if &magic == GGUF_MAGIC => {}
        Ok(()) => {
            return Err(LocalModelError::NotGguf {
                path: path.to_path_buf(),
                reason: "it does not start with the `GGUF` magic bytes".into(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(LocalModelError::NotGguf {
                path: path.to_path_buf(),
                reason: "it is shorter than a GGUF header".into(),
            })
        }
        Err(e) => return Err(io(e)),
    }
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let content = Content::read(&mut reader).map_err(|e| LocalModelError::NotGguf {
        path: path.to_path_buf(),
        reason: format!("unreadable header: {e}"),
    })?;
    Ok((reader, content))
}

/// The metadata of one file, with the file's path for error messages.
pub(crate) struct Meta<'a> {
    pub content: &'a Content,
    pub path: &'a Path,
}

impl<'a> Meta<'a> {
    pub fn new(content: &'a Content, path: &'a Path) -> Self {
        Meta { content, path }
    }

    pub fn missing(&self, key: &str) -> LocalModelError {
        LocalModelError::MissingMetadata {
            path: self.path_buf(),
            key: key.to_string(),
        }
    }

    pub fn path_buf(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.content.metadata.get(key)
    }

    /// A string value; `None` when absent, an error when present with another type.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, LocalModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(self.missing(key)),
        }
    }

    pub fn str(&self, key: &str) -> Result<&'a str, LocalModelError> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    /// A non-negative integer of any width; GGUF writers differ on u32 versus i32 for ids.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, LocalModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_u64(v).map(Some).ok_or_else(|| self.missing(key)),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(|v| v.to_bool().ok())
    }

    /// An array of strings (vocabulary, merges).
    pub fn strings(&self, key: &str) -> Result<Vec<&'a str>, LocalModelError> {
        let Some(Value::Array(items)) = self.get(key) else {
            return Err(self.missing(key));
        };
        items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                _ => Err(self.missing(key)),
            })
            .collect()
    }

    /// An array of integers (token types); `None` when absent.
    pub fn opt_ints(&self, key: &str) -> Result<Option<Vec<i64>>, LocalModelError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.missing(key));
        };
        items
            .iter()
            .map(|v| as_i64(v).ok_or_else(|| self.missing(key)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::I8(n) => Some(i64::from(*n)),
        Value::I16(n) => Some(i64::from(*n)),
        Value::I32(n) => Some(i64::from(*n)),
        Value::I64(n) => Some(*n),
        other => other.to_u64().ok().and_then(|n| i64::try_from(n).ok()),
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    as_i64(v)
        .and_then(|n| u64::try_from(n).ok())
        .or_else(|| v.to_u64().ok())
}
