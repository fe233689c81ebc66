//! Runs every `tests/slt/*.slt` file of the workspace against a fresh engine.
//!
//! Besides SQL, a statement may be `.open PATH...` (relative to the workspace root, or
//! `sample` for the bundled sample) and `.on_error fail|skip`, which reopen the engine.

use std::path::{Path, PathBuf};

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use sqllogictest::{DBOutput, DefaultColumnType};
use trailsql::{Engine, EngineOptions, OnError};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct TrailDb {
    engine: Option<Engine>,
    sources: Vec<String>,
    options: EngineOptions,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DbError(String);

impl TrailDb {
    async fn reopen(&mut self) -> Result<(), DbError> {
        let engine = if self.sources == ["sample"] {
            Engine::sample(self.options.clone()).await
        } else {
            Engine::open(&self.sources, self.options.clone()).await
        };
        self.engine = Some(engine.map_err(|e| DbError(e.to_string()))?);
        Ok(())
    }
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for TrailDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let sql = sql.trim();
        if let Some(paths) = sql.strip_prefix(".open ") {
            self.sources = paths
                .split_whitespace()
                .map(|p| {
                    if p == "sample" {
                        p.to_string()
                    } else {
                        workspace_root().join(p).display().to_string()
                    }
                })
                .collect();
            self.reopen().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        if let Some(mode) = sql.strip_prefix(".on_error ") {
            self.options.on_error = match mode.trim() {
                "skip" => OnError::Skip,
                _ => OnError::Fail,
            };
            self.reopen().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| DbError("no .open yet".into()))?;
        let query = engine.sql(sql).await.map_err(|e| DbError(e.to_string()))?;
        let (batches, _) = query
            .collect()
            .await
            .map_err(|e| DbError(relative(&e.to_string())))?;
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        let mut width = 0;
        for batch in &batches {
            width = batch.num_columns();
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| DbError(e.to_string()))?;
            for row in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| {
                            let text = f.value(row).to_string();
                            if text.is_empty() {
                                "(empty)".to_string()
                            } else {
                                text
                            }
                        })
                        .collect(),
                );
            }
        }
        if batches.is_empty() && rows.is_empty() && !sql.to_ascii_lowercase().starts_with("select")
        {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; width],
            rows,
        })
    }

    async fn shutdown(&mut self) {}
}

/// Error messages name files by absolute path; tests match on the workspace-relative one.
fn relative(message: &str) -> String {
    let root = format!("{}/", workspace_root().display());
    message.replace(&root, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_files() {
    let dir = workspace_root().join("tests/slt");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let mut runner = sqllogictest::Runner::new(|| async {
            Ok(TrailDb {
                engine: None,
                sources: Vec::new(),
                options: EngineOptions::default(),
            })
        });
        if let Err(error) = runner.run_file_async(file).await {
            failures.push(format!("{}: {error}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("{} slt files passed", files.len());
}
