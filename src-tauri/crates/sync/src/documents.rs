//! Enrollment documents (birth certificates, proofs of address…) out of the cache and onto
//! disk. Files are downloaded once, kept encrypted in the cache, and exported from there, so
//! an export works with no network.

use schooldesk_connectors::Connector;
use schooldesk_domain::{Document, System};
use serde::Serialize;
use std::path::{Path, PathBuf};

use crate::desk::{Desk, DeskError, Result};
use crate::replay::blocking;

/// What an export of documents did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct DocumentExport {
    pub written: u32,
    /// Fetched from the system during this export (then kept in the cache).
    pub downloaded: u32,
    /// Known to the cache but never downloaded, and the system could not be reached.
    pub missing: Vec<String>,
    pub out_dir: PathBuf,
}

impl DocumentExport {
    pub fn describe(&self) -> String {
        let mut s = format!(
            "Wrote {} document(s) to {} ({} downloaded now, the rest from the cache).",
            self.written,
            self.out_dir.display(),
            self.downloaded
        );
        if !self.missing.is_empty() {
            s.push_str(&format!(
                " {} could not be fetched (no network?): export again when online.",
                self.missing.len()
            ));
        }
        s
    }
}

impl Desk {
    /// Writes every cached enrollment document to `out_dir/<student or record>/<name>.<ext>`,
    /// downloading (and caching) the ones not yet fetched when PowerSchool is reachable.
    pub async fn export_documents(&self, out_dir: &Path) -> Result<DocumentExport> {
        std::fs::create_dir_all(out_dir).map_err(|source| DeskError::DataDir {
            path: out_dir.to_path_buf(),
            source,
        })?;
        let system = System::PowerSchool;
        let docs = blocking(self.cache(), move |c| c.documents(Some(system))).await?;
        let desk = self.clone();
        let connector: Option<Connector> =
            crate::desk::blocking(move || Ok(desk.connector(system).ok())).await?;
        let mut report = DocumentExport {
            out_dir: out_dir.to_path_buf(),
            ..DocumentExport::default()
        };
        let mut offline = false;
        for doc in docs {
            let id = doc.source.source_id.clone();
            let cached = {
                let id = id.clone();
                blocking(self.cache(), move |c| c.document(system, &id)).await?
            }
            .and_then(|d| d.content);
            let content = match (cached, &connector) {
                (Some(bytes), _) => bytes,
                (None, Some(Connector::PowerSchool(ps))) if !offline => {
                    match ps.download_document(&id).await {
                        Ok((bytes, _content_type)) => {
                            let (id, stored) = (id.clone(), bytes.clone());
                            blocking(self.cache(), move |c| {
                                c.store_document_content(system, &id, &stored)
                            })
                            .await?;
                            report.downloaded += 1;
                            bytes
                        }
                        Err(e) => {
                            // One unreachable download means the rest will be too.
                            offline = e.is_retryable();
                            report.missing.push(id);
                            continue;
                        }
                    }
                }
                _ => {
                    report.missing.push(id);
                    continue;
                }
            };
            let path = document_path(out_dir, &doc, &content);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| DeskError::DataDir {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, &content).map_err(|source| DeskError::DataDir {
                path: path.clone(),
                source,
            })?;
            report.written += 1;
        }
        Ok(report)
    }
}

/// `out/<external student id or record>/<document name>-<id>.<ext>`, every part made safe
/// for any file system.
fn document_path(out_dir: &Path, doc: &Document, content: &[u8]) -> PathBuf {
    let owner = doc
        .source
        .raw
        .get("externalStudentID")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| doc.record_source_id.clone())
        .unwrap_or_else(|| "unfiled".into());
    let ext = if content.starts_with(b"%PDF") {
        "pdf"
    } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "jpg"
    } else if content.starts_with(b"\x89PNG") {
        "png"
    } else {
        "bin"
    };
    let file = format!("{}-{}.{ext}", safe(&doc.name), safe(&doc.source.source_id));
    out_dir.join(safe(&owner)).join(file)
}

fn safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches('.').to_string();
    if trimmed.is_empty() {
        "_".into()
    } else {
        trimmed.chars().take(80).collect()
    }
}
