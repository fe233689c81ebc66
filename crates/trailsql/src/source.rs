//! Listing what a query reads: files, folders (walked recursively), globs, and
//! in-memory objects such as the bundled sample.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// One log object to read.
#[derive(Debug, Clone)]
pub struct LogObject {
    /// How the object is named in errors, statistics and the `log_file` column.
    pub location: Arc<str>,
    pub size: u64,
    /// What changes when the object is rewritten: `mtime:<nanos>` for files, `etag:<tag>`
    /// for store objects; `None` for in-memory objects. With the location and size, it is
    /// the object's identity for conversion and the Parquet cache.
    pub version: Option<Arc<str>>,
    pub body: ObjectBody,
}

#[derive(Clone)]
pub enum ObjectBody {
    File(Arc<Path>),
    Memory(Arc<[u8]>),
    /// An object in a store (S3), read with a GET.
    Store {
        store: Arc<dyn object_store::ObjectStore>,
        path: object_store::path::Path,
    },
}

impl std::fmt::Debug for ObjectBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectBody::File(path) => f.debug_tuple("File").field(path).finish(),
            ObjectBody::Memory(bytes) => f.debug_tuple("Memory").field(&bytes.len()).finish(),
            ObjectBody::Store { path, .. } => f.debug_tuple("Store").field(path).finish(),
        }
    }
}

impl LogObject {
    pub fn memory(location: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        Self {
            location: location.into().into(),
            size: bytes.len() as u64,
            version: None,
            body: ObjectBody::Memory(bytes),
        }
    }

    pub fn file(path: PathBuf, metadata: &std::fs::Metadata) -> Self {
        Self {
            location: shown(&path).into(),
            size: metadata.len(),
            version: modified_version(metadata),
            body: ObjectBody::File(path.into()),
        }
    }

    pub fn read(&self) -> Result<Vec<u8>> {
        let bytes = match &self.body {
            ObjectBody::File(path) => std::fs::read(path).map_err(|error| Error::Io {
                path: self.location.to_string(),
                error,
            })?,
            ObjectBody::Memory(bytes) => return Ok(bytes.to_vec()),
            // Called on the runtime's blocking threads (scans, schema discovery).
            ObjectBody::Store { store, path } => tokio::runtime::Handle::current()
                .block_on(crate::s3::get(store, path))
                .map_err(|e| Error::S3 {
                    location: self.location.to_string(),
                    message: format!("cannot read: {e}"),
                })?,
        };
        self.unchanged(bytes)
    }

    /// The bytes read, if they are as many as the listing said. A file written to
    /// between listing and reading (or while being read) would otherwise be decoded
    /// half old, half new, or its cached copy filed under the old size.
    fn unchanged(&self, bytes: Vec<u8>) -> Result<Vec<u8>> {
        if bytes.len() as u64 == self.size {
            return Ok(bytes);
        }
        Err(Error::Changed {
            location: self.location.to_string(),
            listed: self.size,
            read: bytes.len() as u64,
        })
    }

    /// Reads the object without blocking the runtime: local files on a blocking thread,
    /// store objects with an asynchronous GET.
    pub async fn read_async(&self) -> Result<Vec<u8>> {
        match &self.body {
            ObjectBody::Store { store, path } => {
                let bytes = crate::s3::get(store, path).await.map_err(|e| Error::S3 {
                    location: self.location.to_string(),
                    message: format!("cannot read: {e}"),
                })?;
                self.unchanged(bytes)
            }
            _ => {
                let object = self.clone();
                tokio::task::spawn_blocking(move || object.read())
                    .await
                    .map_err(|e| {
                        Error::DataFusion(datafusion::error::DataFusionError::External(Box::new(e)))
                    })?
            }
        }
    }
}

/// How a path is named in errors and the `log_file` column. Most paths are UTF-8 and are
/// copied as they are: formatting every one through `Path::display` took a tenth of the
/// time of listing a large trail.
fn shown(path: &Path) -> String {
    match path.to_str() {
        Some(text) => text.to_owned(),
        None => path.display().to_string(),
    }
}

/// A file's modification time, as an object version.
fn modified_version(metadata: &std::fs::Metadata) -> Option<Arc<str>> {
    let modified = metadata.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("mtime:{}", since.as_nanos()).into())
}

/// Lists the objects under each path: a file is itself, a folder is every file below
/// it (sorted, symlinks followed once), a pattern with `*`, `?` or `[` is a glob.
pub fn list(paths: &[String]) -> Result<Vec<LogObject>> {
    let mut objects = Vec::new();
    for path in paths {
        if is_glob(path) {
            let matches = glob::glob(path).map_err(|e| Error::BadGlob {
                pattern: path.clone(),
                message: e.to_string(),
            })?;
            let before = objects.len();
            for entry in matches {
                let entry = entry.map_err(|e| Error::Io {
                    path: e.path().display().to_string(),
                    error: e.into(),
                })?;
                add_path(&entry, &mut objects)?;
            }
            if objects.len() == before {
                return Err(Error::NoMatch {
                    pattern: path.clone(),
                });
            }
        } else {
            let path = Path::new(path);
            if !path.exists() {
                return Err(Error::NotFound {
                    path: path.display().to_string(),
                });
            }
            add_path(path, &mut objects)?;
        }
    }
    Ok(objects)
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

fn add_path(path: &Path, objects: &mut Vec<LogObject>) -> Result<()> {
    let io = |error| Error::Io {
        path: path.display().to_string(),
        error,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if metadata.is_dir() {
        let mut visited = Vec::new();
        walk(path, objects, &mut visited)
    } else {
        objects.push(LogObject::file(path.to_path_buf(), &metadata));
        Ok(())
    }
}

fn walk(dir: &Path, objects: &mut Vec<LogObject>, visited: &mut Vec<PathBuf>) -> Result<()> {
    let io = |error| Error::Io {
        path: dir.display().to_string(),
        error,
    };
    // A symlink loop would otherwise walk forever.
    let canonical = std::fs::canonicalize(dir).map_err(io)?;
    if visited.contains(&canonical) {
        return Ok(());
    }
    visited.push(canonical);
    let mut entries = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io)?;
    // By name, bytewise: comparing whole paths component by component cost more than
    // the listing itself on large folders.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        match classify(&entry)? {
            Entry::Folder => walk(&entry.path(), objects, visited)?,
            Entry::File(object) => objects.push(object),
            Entry::Other => {}
        }
    }
    Ok(())
}

/// A folder entry, symlinks followed.
pub(crate) enum Entry {
    Folder,
    File(LogObject),
    /// Sockets, pipes, devices: never logs, and reading a pipe would block.
    Other,
}

/// What `entry` is. A symlink whose target is gone (or that loops) is listed as a file,
/// so reading it reports the problem (an error naming it, or a counted skip) instead
/// of failing the whole listing.
pub(crate) fn classify(entry: &std::fs::DirEntry) -> Result<Entry> {
    let path = entry.path();
    let io = |error| Error::Io {
        path: shown(&path),
        error,
    };
    // Relative to the open folder (no path walk per file) unless it is a symlink.
    let is_symlink = entry.file_type().map_err(io)?.is_symlink();
    let metadata = if is_symlink {
        match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(_) => {
                let metadata = entry.metadata().map_err(io)?;
                return Ok(Entry::File(LogObject::file(path, &metadata)));
            }
        }
    } else {
        entry.metadata().map_err(io)?
    };
    Ok(if metadata.is_dir() {
        Entry::Folder
    } else if metadata.is_file() {
        Entry::File(LogObject::file(path, &metadata))
    } else {
        Entry::Other
    })
}

/// Splits objects into `groups` lists of about equal total size, largest first, so each
/// core gets a fair share; each group keeps listing order.
pub fn balance(objects: &[LogObject], groups: usize) -> Vec<Vec<LogObject>> {
    let groups = groups.max(1).min(objects.len().max(1));
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(objects[i].size));
    let mut loads = vec![0u64; groups];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups];
    for i in order {
        let (least, _) = loads
            .iter()
            .enumerate()
            .min_by_key(|(_, load)| **load)
            .expect("at least one group");
        loads[least] += objects[i].size.max(1);
        members[least].push(i);
    }
    members
        .into_iter()
        .map(|mut group| {
            group.sort_unstable();
            group.into_iter().map(|i| objects[i].clone()).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_spreads_bytes() {
        let objects: Vec<_> = [100, 90, 10, 10, 5]
            .iter()
            .enumerate()
            .map(|(i, &n)| LogObject::memory(format!("o{i}"), vec![b' '; n]))
            .collect();
        let groups = balance(&objects, 2);
        let loads: Vec<u64> = groups
            .iter()
            .map(|g| g.iter().map(|o| o.size).sum())
            .collect();
        assert_eq!(loads, vec![110, 105]);
        assert_eq!(
            groups[1].iter().map(|o| &*o.location).collect::<Vec<_>>(),
            ["o1", "o2", "o4"]
        );
    }

    /// A file name that is not UTF-8 is listed, named with replacement characters, and
    /// read from its real path.
    #[cfg(unix)]
    #[test]
    fn file_names_that_are_not_utf8_are_listed_and_read() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let odd = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"trail-\xff.json"));
        std::fs::write(&odd, b"{\"Records\":[]}").unwrap();
        std::fs::write(dir.path().join("plain.json"), b"{}").unwrap();
        let listed = list(&[dir.path().display().to_string()]).unwrap();
        let names: Vec<&str> = listed
            .iter()
            .map(|o| o.location.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, ["plain.json", "trail-\u{FFFD}.json"]);
        assert_eq!(listed[1].read().unwrap(), b"{\"Records\":[]}");
    }

    #[test]
    fn missing_paths_and_empty_globs_are_errors() {
        assert!(matches!(
            list(&["/nonexistent/x.json".into()]),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            list(&["/nonexistent/*.json".into()]),
            Err(Error::NoMatch { .. })
        ));
    }
}
