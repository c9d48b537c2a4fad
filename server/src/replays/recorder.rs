//! A room's recording of its current match, and the writer that puts it on disk.
//!
//! The room encodes records into a chunk as it plays (the calls made before each tick, and the bytes of
//! each snapshot and events message it already encoded for its players; inputs are kept aside for the
//! chunk's input block) and hands each full chunk to a writer over a bounded channel with `try_send`:
//! encoding the input block, compressing and writing happen on a blocking thread, never on the tick.
//! When the writer falls behind (a disk slower than a match) and the channel is full, the room gives
//! up this match's recording, with a warning and `arena_replays_dropped_total`: the room never waits,
//! and a recording with a hole in it would not re-simulate anyway.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arena_protocol::GameEvent;
use arena_protocol::replay::{
    ChunkBuilder, End, EndReason, FinalScore, Header, Op, RecordRef, ReplayError, ReplayWriter,
};
use tokio::sync::mpsc;
use tracing::warn;

use super::{ReplayListing, ReplayStore};
use crate::outbox::SnapshotBytes;

/// Chunks a writer may have waiting: each holds [`KEYFRAME_SECONDS`] of the match, so this is how
/// long a disk may stall before a recording is given up.
pub(crate) const WRITER_QUEUE: usize = 16;

/// A keyframe (and a new chunk) at least this often, so a viewer seeks within this much.
pub(crate) const KEYFRAME_SECONDS: u16 = 5;

/// What a room hands its writer.
#[derive(Debug)]
enum ToWriter {
    /// A chunk.
    Chunk(ChunkBuilder),
    /// The last chunks (the rest, and the end record alone), and the end: the replay is whole.
    End(ChunkBuilder, ChunkBuilder, End),
}

/// The recording gave up: its writer fell behind or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dropped;

/// A match being recorded.
#[derive(Debug)]
pub(crate) struct Recorder {
    id: String,
    tx: mpsc::Sender<ToWriter>,
    /// The chunk being filled.
    chunk: ChunkBuilder,
    snapshots_in_chunk: u16,
    keyframe_every: u16,
    /// Everyone who played, by id (for the end record).
    players: BTreeMap<u32, FinalScore>,
    kills: u32,
}

impl Recorder {
    /// Starts the writer of a replay with `header`, tracked by `tasks` so shutdown waits for it.
    pub(crate) fn start(
        store: &Arc<ReplayStore>,
        header: Header,
        tasks: &tokio_util::task::TaskTracker,
    ) -> Self {
        let (tx, rx) = mpsc::channel(WRITER_QUEUE);
        let players = header
            .players
            .iter()
            .map(|p| (p.id, FinalScore { id: p.id, name: p.name.clone(), kills: 0, deaths: 0 }))
            .collect();
        let id = header.id.clone();
        let keyframe_every = header.keyframe_every.max(1);
        let store = Arc::clone(store);
        tasks.spawn_blocking(move || write(&store, &header, rx));
        Self {
            id,
            tx,
            chunk: ChunkBuilder::default(),
            snapshots_in_chunk: 0,
            keyframe_every,
            players,
            kills: 0,
        }
    }

    /// The replay's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Records the calls made before the step to `tick` (nothing when there were none: a tick without
    /// a record stepped with none).
    pub(crate) fn tick(&mut self, tick: u64, ops: &[Op]) {
        if ops.is_empty() {
            return;
        }
        for op in ops {
            if let Op::Join { player, name, .. } = op {
                self.players.entry(*player).or_insert_with(|| FinalScore {
                    id: *player,
                    name: name.clone(),
                    kills: 0,
                    deaths: 0,
                });
            }
        }
        self.record(RecordRef::Tick { tick, ops });
    }

    /// Records what the room sent after `tick`: its events message (if any) and its snapshot, as a
    /// keyframe where a chunk starts (every [`KEYFRAME_SECONDS`]) and as a delta elsewhere where
    /// there is one.
    pub(crate) fn broadcast(
        &mut self,
        tick: u64,
        events: Option<(&[GameEvent], &[u8])>,
        snapshot: &SnapshotBytes,
    ) -> Result<(), Dropped> {
        if self.snapshots_in_chunk >= self.keyframe_every {
            self.tx.try_send(ToWriter::Chunk(self.chunk.take())).map_err(|_| Dropped)?;
            self.snapshots_in_chunk = 0;
        }
        if let Some((events, bytes)) = events {
            for event in events {
                if let GameEvent::Kill { killer, victim } = event {
                    self.kills += 1;
                    if let Some(p) = self.players.get_mut(killer) {
                        p.kills += 1;
                    }
                    if let Some(p) = self.players.get_mut(victim) {
                        p.deaths += 1;
                    }
                }
            }
            self.record(RecordRef::Events { tick, bytes });
        }
        let delta = snapshot.delta.as_ref().filter(|_| self.snapshots_in_chunk > 0);
        let record = match delta {
            Some((_, bytes)) => RecordRef::Snapshot { tick, keyframe: false, bytes },
            None => RecordRef::Snapshot { tick, keyframe: true, bytes: &snapshot.keyframe },
        };
        self.record(record);
        self.snapshots_in_chunk += 1;
        Ok(())
    }

    /// Ends the recording after `tick`: the writer finishes the file and indexes it.
    pub(crate) fn finish(mut self, tick: u64, reason: EndReason) -> Result<(), Dropped> {
        let mut players: Vec<FinalScore> = std::mem::take(&mut self.players).into_values().collect();
        players.sort_by(|a, b| b.kills.cmp(&a.kills).then(a.deaths.cmp(&b.deaths)).then(a.id.cmp(&b.id)));
        let end = End { tick, reason, players, kills: self.kills };
        let mut last = ChunkBuilder::default();
        if last.push(RecordRef::End(&end)).is_err() {
            return Err(Dropped);
        }
        let rest = std::mem::take(&mut self.chunk);
        self.tx.try_send(ToWriter::End(rest, last, end)).map_err(|_| Dropped)
    }

    fn record(&mut self, record: RecordRef<'_>) {
        // Encoding into a Vec cannot fail for these types; a failure would be a bug, the record would
        // be missing from the file, and verify would find the hole.
        if let Err(err) = self.chunk.push(record) {
            warn!(id = %self.id, %err, "could not encode a replay record");
        }
    }
}

/// The writer of one replay: creates `ID.arena-replay.part`, writes chunks as they come, and on the
/// end renames it to `ID.arena-replay` and indexes it. If the room gives up (the channel closes
/// without an end) or writing fails, the part file is removed.
fn write(store: &ReplayStore, header: &Header, mut rx: mpsc::Receiver<ToWriter>) {
    let final_path = store.file(&header.id);
    let part = PathBuf::from(format!("{}.part", final_path.display()));
    let metrics = &store.metrics;
    let result = (|| -> Result<Option<ReplayListing>, ReplayError> {
        std::fs::create_dir_all(store.dir())?;
        let mut writer = ReplayWriter::new(File::create(&part)?, header)?;
        let mut counted = writer.written();
        let mut count = |writer: &ReplayWriter<File>| {
            metrics.replay_bytes.increment(writer.written() - counted);
            counted = writer.written();
        };
        count(&writer);
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                ToWriter::Chunk(chunk) => writer.write_chunk(&chunk)?,
                ToWriter::End(rest, last, end) => {
                    if !rest.is_empty() {
                        writer.write_chunk(&rest)?;
                    }
                    writer.write_chunk(&last)?;
                    count(&writer);
                    let bytes = writer.written();
                    writer.finish()?.sync_all()?;
                    std::fs::rename(&part, &final_path)?;
                    return Ok(Some(ReplayListing::new(header, &end, bytes)));
                }
            }
            count(&writer);
        }
        Ok(None)
    })();
    match result {
        Ok(Some(listing)) => store.saved(listing),
        Ok(None) => remove_part(&part),
        Err(err) => {
            warn!(
                id = %header.id,
                path = %part.display(),
                %err,
                "could not write a replay; this match is not recorded"
            );
            metrics.replay_write_errors.increment(1);
            remove_part(&part);
        }
    }
}

fn remove_part(part: &std::path::Path) {
    if let Err(err) = std::fs::remove_file(part)
        && err.kind() != std::io::ErrorKind::NotFound
    {
        warn!(path = %part.display(), %err, "could not remove an unfinished replay");
    }
}

/// A new replay id: the match's start (UTC, to the second) and eight random letters, e.g.
/// `20261202-211500-k3xq9mzt`. Sorts by time; says nothing of the room (a private room's code is a
/// secret, and replay links get shared).
pub(crate) fn new_id(started: std::time::SystemTime) -> String {
    use rand::Rng;
    let stamp = humantime::format_rfc3339_seconds(started).to_string();
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let suffix: String = (0..8).map(|_| char::from(LETTERS[rng.random_range(0..LETTERS.len())])).collect();
    format!("{date}-{time}-{suffix}")
}

/// Whether `id` could be a replay id (checked before it goes near a path).
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_safe_in_paths() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_245_200);
        let id = new_id(t);
        assert!(id.starts_with("20261202-"), "{id}");
        assert_eq!(id.len(), "20261202-211500-".len() + 8, "{id}");
        assert!(valid_id(&id));
        assert!(new_id(t + std::time::Duration::from_secs(1)) > id);
        for bad in ["", "../etc", "a/b", "a.b", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
