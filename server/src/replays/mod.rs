//! Recorded matches on disk: the folder they live in, what is in it (an index of summaries, served at
//! `/api/replays`), and keeping it within `--replay-max-bytes` and `--replay-max-files`.
//!
//! Rooms record ([`recorder`]); this module owns the folder. A replay is written as `ID.arena-replay.part`
//! and renamed to `ID.arena-replay` once whole, so the index and the HTTP routes never see half a
//! file. A disk that is full, read-only or missing costs the recordings, never a tick or a player: each
//! failure is a warning and a metric.
//!
//! # Layout
//! - [`recorder`]: a room's recording of its current match, and the writer that puts it on disk.
//! - [`verify`]: re-simulating a replay and checking every message it recorded.

pub(crate) mod recorder;
pub mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arena_protocol::replay::{End, EndReason, FILE_EXTENSION, Header, ReplayReader};
use serde::Serialize;
use tracing::{info, warn};

use crate::metrics::Metrics;

/// Default `--replays`: a folder of this name in the working directory, created when the first match
/// is saved.
pub const DEFAULT_DIR: &str = "replays";
/// Default `--replay-max-bytes`.
pub const DEFAULT_MAX_BYTES: &str = "1GiB";
/// Default `--replay-max-files`.
pub const DEFAULT_MAX_FILES: usize = 500;

/// Leftover `.part` files older than this are removed at start: a server that stopped mid-match left
/// them (a younger one may be another server's, writing into the same folder).
const STALE_PART: Duration = Duration::from_secs(3600);

/// Where replays go and how many are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayConfig {
    /// The folder.
    pub dir: PathBuf,
    /// The most bytes of replays kept; the oldest go first.
    pub max_bytes: u64,
    /// The most replays kept; the oldest go first.
    pub max_files: usize,
}

/// What `/api/replays` says of one replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ReplayListing {
    /// The id: `/replays/ID` is the file, `#replay/ID` the viewer.
    pub(crate) id: String,
    /// The map's name.
    pub(crate) map: String,
    /// The room's code.
    pub(crate) room: String,
    /// When the match started, ms since the Unix epoch.
    pub(crate) started_at_ms: u64,
    /// The same, as an RFC 3339 date (UTC).
    pub(crate) date: String,
    /// Its length, seconds.
    pub(crate) seconds: f64,
    /// Why it ended.
    pub(crate) reason: EndReason,
    /// Everyone who played, best first: name, kills, deaths.
    pub(crate) players: Vec<ListedPlayer>,
    /// The best player (most kills), when anyone played.
    pub(crate) top: Option<ListedPlayer>,
    /// Kills in the match.
    pub(crate) kills: u32,
    /// The file's size.
    pub(crate) bytes: u64,
    /// Listed: only public rooms' replays are (a private room's is reached by its id).
    #[serde(skip)]
    pub(crate) public: bool,
}

/// A player in a [`ReplayListing`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ListedPlayer {
    pub(crate) name: String,
    pub(crate) kills: u32,
    pub(crate) deaths: u32,
}

impl ReplayListing {
    fn new(header: &Header, end: &End, bytes: u64) -> Self {
        let ticks = end.tick.saturating_sub(header.start_tick);
        let players: Vec<ListedPlayer> = end
            .players
            .iter()
            .map(|p| ListedPlayer { name: p.name.clone(), kills: p.kills, deaths: p.deaths })
            .collect();
        let started = std::time::UNIX_EPOCH + Duration::from_millis(header.started_at_ms);
        Self {
            id: header.id.clone(),
            map: header.map.name.clone(),
            room: header.room.clone(),
            started_at_ms: header.started_at_ms,
            date: humantime::format_rfc3339_seconds(started).to_string(),
            seconds: ticks as f64 / f64::from(header.tick_rate.max(1)),
            reason: end.reason,
            top: players.first().cloned(),
            players,
            kills: end.kills,
            bytes,
            public: header.public,
        }
    }
}

/// The replay folder and its index.
#[derive(Debug)]
pub(crate) struct ReplayStore {
    config: ReplayConfig,
    metrics: Arc<Metrics>,
    /// By id; ids start with the time, so this is oldest first.
    index: Mutex<BTreeMap<String, ReplayListing>>,
}

impl ReplayStore {
    /// The store of `config.dir`, indexing the replays already there (an unreadable one is skipped
    /// with a warning) and removing `.part` files left by a server that stopped mid-match.
    pub(crate) fn open(config: ReplayConfig, metrics: Arc<Metrics>) -> Self {
        let mut index = BTreeMap::new();
        let suffix = format!(".{FILE_EXTENSION}");
        match std::fs::read_dir(&config.dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.ends_with(".part") {
                        remove_stale_part(&path);
                    } else if let Some(id) = name.strip_suffix(&suffix) {
                        match read_listing(&path) {
                            Ok(listing) if listing.id == id => {
                                index.insert(listing.id.clone(), listing);
                            }
                            Ok(_) => {
                                warn!(path = %path.display(), "replay's id is not its file name; skipped")
                            }
                            Err(err) => warn!(path = %path.display(), %err, "unreadable replay skipped"),
                        }
                    }
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => warn!(dir = %config.dir.display(), %err, "cannot read the replay folder"),
        }
        if !index.is_empty() {
            info!(dir = %config.dir.display(), replays = index.len(), "replays found");
        }
        let store = Self { config, metrics, index: Mutex::new(index) };
        store.enforce_limits();
        store
    }

    /// The folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// The public replays, newest first.
    pub(crate) fn public(&self) -> Vec<ReplayListing> {
        let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        index.values().rev().filter(|l| l.public).cloned().collect()
    }

    /// The path of a saved replay, if `id` names one.
    pub(crate) fn path_of(&self, id: &str) -> Option<PathBuf> {
        let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        index.contains_key(id).then(|| self.file(id))
    }

    fn file(&self, id: &str) -> PathBuf {
        self.config.dir.join(format!("{id}.{FILE_EXTENSION}"))
    }

    /// Indexes a replay just saved, and removes the oldest ones past the limits.
    fn saved(&self, listing: ReplayListing) {
        self.metrics.replays_saved.increment(1);
        self.index.lock().unwrap_or_else(|e| e.into_inner()).insert(listing.id.clone(), listing);
        self.enforce_limits();
    }

    /// Removes the oldest replays until at most `max_files` and `max_bytes` are left.
    fn enforce_limits(&self) {
        let mut index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        let mut total: u64 = index.values().map(|l| l.bytes).sum();
        while index.len() > self.config.max_files || (total > self.config.max_bytes && !index.is_empty()) {
            let Some((id, listing)) = index.pop_first() else { break };
            total -= listing.bytes;
            let path = self.file(&id);
            match std::fs::remove_file(&path) {
                Ok(()) => info!(%id, "oldest replay removed to keep within the limits"),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => warn!(path = %path.display(), %err, "could not remove an old replay"),
            }
            self.metrics.replays_removed.increment(1);
        }
    }
}

fn read_listing(path: &Path) -> Result<ReplayListing, arena_protocol::replay::ReplayError> {
    let file = std::fs::File::open(path)?;
    let bytes = file.metadata()?.len();
    let (header, end) = ReplayReader::summary(std::io::BufReader::new(file))?;
    let end = end.ok_or_else(|| arena_protocol::replay::ReplayError::Corrupt {
        chunk: 0,
        detail: "it has no end record".into(),
    })?;
    Ok(ReplayListing::new(&header, &end, bytes))
}

fn remove_stale_part(path: &Path) {
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    if age.is_some_and(|age| age > STALE_PART) {
        match std::fs::remove_file(path) {
            Ok(()) => info!(path = %path.display(), "removed a replay left unfinished by an earlier run"),
            Err(err) => warn!(path = %path.display(), %err, "could not remove an unfinished replay"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder with the example replay saved under these ids (and a stale part file).
    fn folder_with(name: &str, ids: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("arena-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("folder");
        for id in ids {
            let mut replay = arena_protocol::examples::replay();
            replay.header.id = (*id).to_owned();
            let bytes = replay.to_bytes().expect("encode");
            std::fs::write(dir.join(format!("{id}.{FILE_EXTENSION}")), bytes).expect("write");
        }
        std::fs::write(dir.join("junk.arena-replay"), b"not a replay").expect("write");
        dir
    }

    #[test]
    fn the_folder_is_indexed_and_kept_within_its_limits_oldest_first() {
        let ids = ["20261201-100000-aaaaaaaa", "20261202-100000-bbbbbbbb", "20261203-100000-cccccccc"];
        let dir = folder_with("limits", &ids);
        let config = ReplayConfig { dir: dir.clone(), max_bytes: u64::MAX, max_files: 2 };
        let store = ReplayStore::open(config, Arc::new(Metrics::new()));
        let listed: Vec<String> = store.public().into_iter().map(|l| l.id).collect();
        assert_eq!(listed, [ids[2], ids[1]], "newest first; the oldest went, the unreadable one is skipped");
        assert!(!dir.join(format!("{}.{FILE_EXTENSION}", ids[0])).exists());
        assert!(store.path_of(ids[1]).is_some_and(|p| p.exists()));
        assert!(store.path_of(ids[0]).is_none());
        let listing = &store.public()[0];
        assert_eq!((listing.seconds, listing.kills), (10.0 / 60.0, 1));
        assert_eq!(listing.top.as_ref().map(|t| t.name.as_str()), Some("Grace"));
        assert_eq!(listing.date, "2026-12-02T21:15:00Z");

        // By bytes: room for one file only.
        let size = std::fs::metadata(dir.join(format!("{}.{FILE_EXTENSION}", ids[2]))).expect("file").len();
        let config = ReplayConfig { dir: dir.clone(), max_bytes: size + size / 2, max_files: 100 };
        let store = ReplayStore::open(config, Arc::new(Metrics::new()));
        assert_eq!(store.public().len(), 1);
        assert_eq!(store.public()[0].id, ids[2]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
