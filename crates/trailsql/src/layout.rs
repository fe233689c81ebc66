//! CloudTrail's folder layout as a map: which organizations, accounts and regions a root
//! holds, found by listing one level at a time (never every object), and which files a
//! query's constraints need, listed only where they can be.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;
use futures::StreamExt;
use trailsql_decode::{delivery_stamp, is_account_id, is_organization_id};

use crate::error::Result;
use crate::prune::Constraints;
use crate::source::LogObject;

/// One level of a folder tree: sub-folder names, and the files directly in it.
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub folders: Vec<String>,
    pub files: Vec<LogObject>,
}

/// Lists a tree of log files: the local file system or an object store.
#[async_trait]
pub trait Lister: fmt::Debug + Send + Sync {
    /// The folders and files directly under `prefix`.
    async fn level(&self, prefix: &str) -> Result<Level>;
    /// Every file below `prefix`, in name order.
    async fn all(&self, prefix: &str) -> Result<Vec<LogObject>>;
    /// `prefix` joined with a child name.
    fn join(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            return name.to_string();
        }
        format!("{}/{name}", prefix.trim_end_matches('/'))
    }
}

/// The local file system.
#[derive(Debug, Default)]
pub struct LocalLister;

#[async_trait]
impl Lister for LocalLister {
    async fn level(&self, prefix: &str) -> Result<Level> {
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let io = |error| crate::error::Error::Io {
                path: prefix.clone(),
                error,
            };
            let mut entries: Vec<_> = std::fs::read_dir(&prefix)
                .map_err(io)?
                .filter_map(|e| e.ok())
                .collect();
            // By name, bytewise: comparing whole paths component by component cost more
            // than the listing itself on large day folders.
            entries.sort_by_key(|e| e.file_name());
            let mut level = Level::default();
            for entry in entries {
                match crate::source::classify(&entry)? {
                    crate::source::Entry::Folder => level
                        .folders
                        .push(entry.file_name().to_string_lossy().into_owned()),
                    crate::source::Entry::File(object) => level.files.push(object),
                    crate::source::Entry::Other => {}
                }
            }
            Ok(level)
        })
        .await
        .map_err(|e| {
            crate::error::Error::DataFusion(datafusion::error::DataFusionError::External(Box::new(
                e,
            )))
        })?
    }

    async fn all(&self, prefix: &str) -> Result<Vec<LogObject>> {
        let paths = vec![prefix.to_string()];
        tokio::task::spawn_blocking(move || crate::source::list(&paths))
            .await
            .map_err(|e| {
                crate::error::Error::DataFusion(datafusion::error::DataFusionError::External(
                    Box::new(e),
                ))
            })?
    }
}

/// A `<region>` folder of one account's `CloudTrail` folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionFolder {
    pub organization: Option<String>,
    pub account: String,
    pub region: String,
    pub prefix: String,
}

/// What a listing cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingStats {
    /// Folders listed one level deep, or walked whole.
    pub prefixes_listed: u64,
    /// Files seen in those listings.
    pub objects_listed: u64,
    /// Listings answered from the session's cache instead.
    pub cached: u64,
}

/// A root in the CloudTrail layout, with the listings made so far (reused by every
/// query of the session).
pub struct Layout {
    pub root: String,
    pub regions: Vec<RegionFolder>,
    lister: Arc<dyn Lister>,
    levels: Mutex<HashMap<String, Level>>,
    /// What discovering the layout cost.
    pub discovery: ListingStats,
}

impl fmt::Debug for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layout")
            .field("root", &self.root)
            .field("regions", &self.regions.len())
            .finish()
    }
}

/// The selected files, and how they were found.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub objects: Vec<LogObject>,
    pub stats: ListingStats,
    /// Region folders kept by the account and region constraints, of all.
    pub regions_kept: usize,
    pub regions_total: usize,
    /// Day folders listed.
    pub days: usize,
    /// Files listed but left unread by their delivery time, and their bytes.
    pub pruned_by_time: u64,
    pub pruned_bytes: u64,
}

impl Layout {
    /// Maps the layout under `root`, or `None` when `root` is not in it (no `AWSLogs`
    /// folder at the root, and the root is not inside one).
    pub async fn discover(lister: Arc<dyn Lister>, root: &str) -> Result<Option<Layout>> {
        let root = root.trim_end_matches('/').to_string();
        let mut layout = Layout {
            root: root.clone(),
            regions: Vec::new(),
            lister,
            levels: Mutex::new(HashMap::new()),
            discovery: ListingStats::default(),
        };
        let mut stats = ListingStats::default();
        let segments: Vec<&str> = root.split('/').collect();
        // (organization, account, the account's folder) still to map to region folders.
        let mut accounts: Vec<(Option<String>, String, String)> = Vec::new();
        // Where the root is: above AWSLogs, at it, or below it.
        let aws_logs = match segments.iter().rposition(|s| *s == "AWSLogs") {
            None => {
                let found = layout.level(&root, &mut stats).await?;
                if !found.folders.iter().any(|f| f == "AWSLogs") {
                    return Ok(None);
                }
                Some(layout.lister.join(&root, "AWSLogs"))
            }
            Some(p) if p == segments.len() - 1 => Some(root.clone()),
            Some(p) => {
                let region =
                    |organization: Option<&str>, account: &str, region: &str| RegionFolder {
                        organization: organization.map(str::to_string),
                        account: account.to_string(),
                        region: region.to_string(),
                        prefix: root.clone(),
                    };
                match segments[p + 1..] {
                    [org] if is_organization_id(org) => {
                        let found = layout.level(&root, &mut stats).await?;
                        for account in found.folders.iter().filter(|a| is_account_id(a)) {
                            let prefix = layout.lister.join(&root, account);
                            accounts.push((Some(org.to_string()), account.clone(), prefix));
                        }
                    }
                    [org, account] | [org, account, "CloudTrail"]
                        if is_organization_id(org) && is_account_id(account) =>
                    {
                        let prefix = segments[..p + 3].join("/");
                        accounts.push((Some(org.to_string()), account.to_string(), prefix));
                    }
                    [account] | [account, "CloudTrail"] if is_account_id(account) => {
                        let prefix = segments[..p + 2].join("/");
                        accounts.push((None, account.to_string(), prefix));
                    }
                    [org, account, "CloudTrail", name]
                        if is_organization_id(org) && is_account_id(account) =>
                    {
                        layout.regions.push(region(Some(org), account, name));
                    }
                    [account, "CloudTrail", name] if is_account_id(account) => {
                        layout.regions.push(region(None, account, name));
                    }
                    _ => return Ok(None),
                }
                None
            }
        };
        if let Some(aws_logs) = aws_logs {
            let found = layout.level(&aws_logs, &mut stats).await?;
            for folder in &found.folders {
                let path = layout.lister.join(&aws_logs, folder);
                if is_account_id(folder) {
                    accounts.push((None, folder.clone(), path));
                } else if is_organization_id(folder) {
                    let members = layout.level(&path, &mut stats).await?;
                    for account in members.folders.iter().filter(|a| is_account_id(a)) {
                        let prefix = layout.lister.join(&path, account);
                        accounts.push((Some(folder.clone()), account.clone(), prefix));
                    }
                }
            }
        }
        for (organization, account, prefix) in accounts {
            let trail = layout.lister.join(&prefix, "CloudTrail");
            // An account folder without CloudTrail logs (Config, VPC flow logs, ...).
            let Ok(found) = layout.level(&trail, &mut stats).await else {
                continue;
            };
            for region in &found.folders {
                layout.regions.push(RegionFolder {
                    organization: organization.clone(),
                    account: account.clone(),
                    region: region.clone(),
                    prefix: layout.lister.join(&trail, region),
                });
            }
        }
        layout.discovery = stats;
        Ok(Some(layout))
    }

    async fn level(&self, prefix: &str, stats: &mut ListingStats) -> Result<Level> {
        if let Some(found) = self
            .levels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(prefix)
        {
            stats.cached += 1;
            return Ok(found.clone());
        }
        let found = self.lister.level(prefix).await?;
        stats.prefixes_listed += 1;
        stats.objects_listed += found.files.len() as u64;
        self.levels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(prefix.to_string(), found.clone());
        Ok(found)
    }

    /// The files that can hold events meeting `constraints`. A file is named by the
    /// minute it was delivered and holds only events from before then, so with a window
    /// `[since, until]` it is needed when `since <= delivered` (to the minute) and
    /// `delivered <= until + late_delivery`.
    /// Every file under a region folder, from the listings of this session when it was
    /// walked before: `(key, whether it was, files)`.
    async fn walk_region(&self, prefix: String) -> Result<(String, bool, Vec<LogObject>)> {
        let key = format!("{prefix}/**");
        let cached = self
            .levels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        match cached {
            Some(found) => Ok((key, true, found.files)),
            None => Ok((key, false, self.lister.all(&prefix).await?)),
        }
    }

    pub async fn select(
        &self,
        constraints: &Constraints,
        late_delivery_micros: i64,
    ) -> Result<Selection> {
        let mut selection = Selection {
            regions_total: self.regions.len(),
            ..Selection::default()
        };
        let (earliest, latest) = delivery_window(constraints, late_delivery_micros);
        let first_day = earliest.and_then(day_of);
        let last_day = latest.and_then(day_of);
        let kept: Vec<&RegionFolder> = self
            .regions
            .iter()
            .filter(|region| {
                constraints
                    .accounts
                    .as_ref()
                    .is_none_or(|a| a.contains(&region.account))
                    && constraints
                        .regions
                        .as_ref()
                        .is_none_or(|r| r.contains(&region.region))
            })
            .collect();
        selection.regions_kept = kept.len();
        if first_day.is_none() && last_day.is_none() {
            // Every file of every kept region: the region folders are walked a few at a
            // time, since a walk waits on the file system more than it computes.
            let walks: Vec<_> = kept
                .iter()
                .map(|region| self.walk_region(region.prefix.clone()))
                .collect();
            let walks = futures::stream::iter(walks)
                .buffered(4)
                .collect::<Vec<Result<_>>>()
                .await;
            for walk in walks {
                let (key, cached, files) = walk?;
                if cached {
                    selection.stats.cached += 1;
                } else {
                    selection.stats.prefixes_listed += 1;
                    selection.stats.objects_listed += files.len() as u64;
                    self.levels
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(
                            key,
                            Level {
                                folders: Vec::new(),
                                files: files.clone(),
                            },
                        );
                }
                selection.objects.extend(files);
            }
            return Ok(selection);
        }
        for region in kept {
            let in_range = |date: NaiveDate| {
                first_day.is_none_or(|d| date >= d) && last_day.is_none_or(|d| date <= d)
            };
            let years = self.level(&region.prefix, &mut selection.stats).await?;
            for year in numbered(&years.folders) {
                let year_path = self.lister.join(&region.prefix, &year.1);
                let (Some(year_start), Some(year_end)) = (
                    NaiveDate::from_ymd_opt(year.0 as i32, 1, 1),
                    NaiveDate::from_ymd_opt(year.0 as i32, 12, 31),
                ) else {
                    continue;
                };
                let overlaps = first_day.is_none_or(|d| year_end >= d)
                    && last_day.is_none_or(|d| year_start <= d);
                if !overlaps {
                    continue;
                }
                let months = self.level(&year_path, &mut selection.stats).await?;
                for month in numbered(&months.folders) {
                    let month_path = self.lister.join(&year_path, &month.1);
                    let Some(month_start) = NaiveDate::from_ymd_opt(year.0 as i32, month.0, 1)
                    else {
                        continue;
                    };
                    let month_end = month_start
                        .checked_add_months(chrono::Months::new(1))
                        .and_then(|d| d.pred_opt())
                        .unwrap_or(month_start);
                    let overlaps = first_day.is_none_or(|d| month_end >= d)
                        && last_day.is_none_or(|d| month_start <= d);
                    if !overlaps {
                        continue;
                    }
                    let days = self.level(&month_path, &mut selection.stats).await?;
                    for day in numbered(&days.folders) {
                        let Some(date) = NaiveDate::from_ymd_opt(year.0 as i32, month.0, day.0)
                        else {
                            continue;
                        };
                        if !in_range(date) {
                            continue;
                        }
                        selection.days += 1;
                        let day_path = self.lister.join(&month_path, &day.1);
                        let files = self.level(&day_path, &mut selection.stats).await?.files;
                        for object in files {
                            let name = object
                                .location
                                .rsplit(['/', '\\'])
                                .next()
                                .unwrap_or_default();
                            let keep = delivery_stamp(name).is_none_or(|delivered| {
                                delivered_in_window(delivered, constraints, late_delivery_micros)
                            });
                            if keep {
                                selection.objects.push(object);
                            } else {
                                selection.pruned_by_time += 1;
                                selection.pruned_bytes += object.size;
                            }
                        }
                    }
                }
            }
        }
        Ok(selection)
    }

    /// A few files of the newest day of up to `max_regions` region folders, spread over
    /// all of them, for schema discovery: an organization trail has thousands of region
    /// folders, and opening it must not list them all.
    pub async fn recent_files(
        &self,
        per_region: usize,
        max_regions: usize,
    ) -> Result<(Vec<LogObject>, ListingStats)> {
        let mut stats = ListingStats::default();
        let mut objects = Vec::new();
        let step = self.regions.len().div_ceil(max_regions.max(1)).max(1);
        for region in self.regions.iter().step_by(step) {
            let mut prefix = region.prefix.clone();
            let mut found = None;
            for _ in 0..3 {
                let level = self.level(&prefix, &mut stats).await?;
                let Some((_, newest)) = numbered(&level.folders).into_iter().next_back() else {
                    break;
                };
                prefix = self.lister.join(&prefix, &newest);
                found = Some(prefix.clone());
            }
            if let Some(day) = found {
                let files = self.level(&day, &mut stats).await?.files;
                let step = (files.len() / per_region.max(1)).max(1);
                objects.extend(files.into_iter().step_by(step).take(per_region));
            }
        }
        Ok((objects, stats))
    }
}

/// The delivery times a file must have to hold events meeting `constraints`: a file
/// holds only events from before its delivery, and is delivered at most
/// `late_delivery_micros` after them. The stamp in its name is the delivery minute, so
/// the lower bound gives a minute's grace.
pub(crate) fn delivery_window(
    constraints: &Constraints,
    late_delivery_micros: i64,
) -> (Option<i64>, Option<i64>) {
    (
        constraints.since.map(|s| s.saturating_sub(60_000_000)),
        constraints
            .until
            .map(|u| u.saturating_add(late_delivery_micros)),
    )
}

/// Whether a file delivered at `delivered` can hold events meeting `constraints`.
pub(crate) fn delivered_in_window(
    delivered: i64,
    constraints: &Constraints,
    late_delivery_micros: i64,
) -> bool {
    let (earliest, latest) = delivery_window(constraints, late_delivery_micros);
    earliest.is_none_or(|e| delivered >= e) && latest.is_none_or(|l| delivered <= l)
}

pub(crate) fn day_of(micros: i64) -> Option<NaiveDate> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros).map(|t| t.date_naive())
}

/// Folder names that are numbers (`2024`, `01`), with their values, in order.
fn numbered(folders: &[String]) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = folders
        .iter()
        .filter_map(|f| f.parse::<u32>().ok().map(|n| (n, f.clone())))
        .collect();
    out.sort();
    out
}
