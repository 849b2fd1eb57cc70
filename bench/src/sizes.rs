//! What gets deployed: the stripped binary and bootstrap.zip, or the Python
//! handler, its zip and (for reference) the boto3 + botocore it imports.

use std::path::{Path, PathBuf};

use crate::Result;

pub enum Package {
    Binary {
        binary: PathBuf,
        zip: PathBuf,
    },
    Script {
        handler: PathBuf,
        zip: PathBuf,
        site_packages: PathBuf,
    },
}

pub struct Sizes {
    /// The binary, or the handler source.
    pub code: u64,
    /// The deployment package.
    pub zip: u64,
    /// boto3 + botocore as installed (the Python runtime provides them).
    pub runtime_libraries: Option<u64>,
}

impl Package {
    pub fn sizes(&self) -> Result<Sizes> {
        Ok(match self {
            Package::Binary { binary, zip } => Sizes {
                code: file_size(binary)?,
                zip: file_size(zip)?,
                runtime_libraries: None,
            },
            Package::Script {
                handler,
                zip,
                site_packages,
            } => Sizes {
                code: file_size(handler)?,
                zip: file_size(zip)?,
                runtime_libraries: Some(
                    tree_size(&site_packages.join("boto3"))? + tree_size(&site_packages.join("botocore"))?,
                ),
            },
        })
    }
}

fn file_size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

/// Bytes of the regular files under `dir`.
fn tree_size(dir: &Path) -> Result<u64> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut total = 0;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        total += if kind.is_dir() {
            tree_size(&entry.path())?
        } else if kind.is_file() {
            file_size(&entry.path())?
        } else {
            0
        };
    }
    Ok(total)
}
