//! The replay file format: one match, as the room played it (its snapshot and event messages, byte for
//! byte) and as it can be played again (the calls that changed its simulation), in zstd-compressed
//! chunks that start at keyframes. `protocol/REPLAY.md` is the spec; this module is its one
//! implementation, and the golden fixture `fixtures/replay.arena-replay` pins its bytes.
//!
//! Why chunks: a viewer seeks to a keyframe without decompressing what comes before it, a writer can
//! hand each chunk to the disk as soon as it is complete (so a crash loses at most the last few
//! seconds), and a reader finds the summary at the end by skipping chunk lengths. Why the room's own
//! message bytes: the viewer plays them with the decoder and renderer of live play, and nothing is
//! encoded twice on the tick path.

use std::io::{Read, Seek, SeekFrom, Write};

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::{Input, MapInfo, PlayerInfo, TuningInfo};

/// The first bytes of every replay file.
pub const MAGIC: [u8; 8] = *b"ARENAREC";

/// The format version, written after [`MAGIC`] (little-endian `u16`). Readers refuse newer versions.
/// Bump it whenever the bytes of `fixtures/replay.arena-replay` change.
pub const FORMAT_VERSION: u16 = 1;

/// A replay file's name ends with this (after a dot).
pub const FILE_EXTENSION: &str = "arena-replay";

/// The largest chunk a reader accepts, compressed or not: a chunk holds a few seconds of one room, far
/// below this; anything larger is a damaged or hostile file, refused before it fills memory.
pub const MAX_CHUNK_BYTES: usize = 32 << 20;

/// The zstd level chunks are written at: measured on 16-player fights, higher levels save a few percent
/// more at several times the CPU (the writer runs off the tick path, but shares the machine).
pub const COMPRESSION_LEVEL: i32 = 6;

/// What a replay says of itself, in its first chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT_VERSION`] of the writer.
    pub format: u16,
    /// The protocol version of the snapshot and event messages inside ([`crate::PROTOCOL_VERSION`]).
    pub protocol: u16,
    /// The version of the server that wrote it.
    pub server_version: String,
    /// The replay's id (its file name without the extension).
    pub id: String,
    /// The room's code.
    pub room: String,
    /// Whether the room was public (listed); private rooms' replays are reachable by id only.
    pub public: bool,
    /// When the match started, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// Simulation ticks per second.
    pub tick_rate: u16,
    /// Snapshots per second.
    pub snapshot_rate: u16,
    /// The lag compensation cap in force, microseconds (0: off).
    pub max_rewind_us: u64,
    /// The room's seed.
    pub seed: u64,
    /// The tick the recording starts after: the first tick record is for `start_tick + 1`.
    pub start_tick: u64,
    /// Snapshots per chunk: each chunk after the header starts with a keyframe.
    pub keyframe_every: u16,
    /// The map, as `joined` describes it.
    pub map: MapInfo,
    /// The rules, as `welcome` describes them.
    pub tuning: TuningInfo,
    /// The game data the simulation ran on, as text, so a re-simulation needs nothing else.
    pub game_data: GameSources,
    /// Who was in the room when the match started (later arrivals come as `join` events).
    pub players: Vec<PlayerInfo>,
    /// The server's capture of its simulation at `start_tick`, opaque to viewers: what a
    /// re-simulation starts from (its layout is the server's `WorldState`, versioned with this format).
    #[serde(with = "serde_bytes")]
    pub state: Vec<u8>,
}

/// The game data files a match ran on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GameSources {
    /// `tuning.toml`.
    pub tuning_toml: String,
    /// The map's `.toml`.
    pub map_toml: String,
}

/// One call that changed the simulation before a tick (a tick's steps are the records' own).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A player joined, or came back to their held seat after input `resume_after`.
    Join {
        /// The player.
        player: u32,
        /// Their name.
        name: String,
        /// The input their held seat had reached, when they came back to it.
        resume_after: Option<u32>,
    },
    /// A player is gone for good: their score goes.
    Leave {
        /// The player.
        player: u32,
    },
    /// A player's ship was removed (they left or lost the connection).
    Despawn {
        /// The player.
        player: u32,
    },
    /// An input was queued for a player's ship, as it arrived.
    Input {
        /// The player.
        player: u32,
        /// The input.
        input: Input,
    },
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The match was played out and its results shown.
    Finished,
    /// Too few players were left, and the room went back to warm-up.
    Abandoned,
    /// The room closed or the server shut down during the match.
    Closed,
}

/// One player's final line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalScore {
    /// The player.
    pub id: u32,
    /// Their name.
    pub name: String,
    /// Kills.
    pub kills: u32,
    /// Deaths.
    pub deaths: u32,
}

/// The last record of a complete replay: what a listing shows without reading the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// The last tick recorded.
    pub tick: u64,
    /// Why the recording ended.
    pub reason: EndReason,
    /// Everyone who played in it, most kills first (then fewest deaths, then id).
    pub players: Vec<FinalScore>,
    /// Kills in the match.
    pub kills: u32,
}

/// One record of a chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// The simulation stepped to `tick`, after `ops` were applied (ticks without a record stepped with
    /// none).
    Tick {
        /// The tick stepped to.
        tick: u64,
        /// The calls made before the step.
        ops: Vec<Op>,
    },
    /// The room's `snapshot` message after `tick`, as sent: a keyframe, or a delta against the previous
    /// snapshot record.
    Snapshot {
        /// The tick.
        tick: u64,
        /// Whether the message is a keyframe.
        keyframe: bool,
        /// The message bytes.
        bytes: Vec<u8>,
    },
    /// The room's `events` message sent with the snapshot after `tick`, as sent.
    Events {
        /// The tick.
        tick: u64,
        /// The message bytes.
        bytes: Vec<u8>,
    },
    /// The end of the recording.
    End(End),
}

/// A record with borrowed bytes: what a writer encodes without copying a message first.
#[derive(Debug, Clone, Copy)]
pub enum RecordRef<'a> {
    /// See [`Record::Tick`].
    Tick {
        /// The tick stepped to.
        tick: u64,
        /// The calls made before the step.
        ops: &'a [Op],
    },
    /// See [`Record::Snapshot`].
    Snapshot {
        /// The tick.
        tick: u64,
        /// Whether the message is a keyframe.
        keyframe: bool,
        /// The message bytes.
        bytes: &'a [u8],
    },
    /// See [`Record::Events`].
    Events {
        /// The tick.
        tick: u64,
        /// The message bytes.
        bytes: &'a [u8],
    },
    /// See [`Record::End`].
    End(&'a End),
}

/// The kinds of record, their first element on the wire.
mod kind {
    pub(super) const TICK: u8 = 1;
    pub(super) const SNAPSHOT: u8 = 2;
    pub(super) const EVENTS: u8 = 3;
    pub(super) const END: u8 = 4;
}

/// The kinds of op, their first element on the wire.
mod op_kind {
    pub(super) const JOIN: u8 = 1;
    pub(super) const LEAVE: u8 = 2;
    pub(super) const DESPAWN: u8 = 3;
    pub(super) const INPUT: u8 = 4;
}

impl Record {
    /// The record, borrowed.
    pub fn as_ref(&self) -> RecordRef<'_> {
        match self {
            Self::Tick { tick, ops } => RecordRef::Tick { tick: *tick, ops },
            Self::Snapshot { tick, keyframe, bytes } => {
                RecordRef::Snapshot { tick: *tick, keyframe: *keyframe, bytes }
            }
            Self::Events { tick, bytes } => RecordRef::Events { tick: *tick, bytes },
            Self::End(end) => RecordRef::End(end),
        }
    }

    /// The tick the record is about.
    pub fn tick(&self) -> u64 {
        match self {
            Self::Tick { tick, .. } | Self::Snapshot { tick, .. } | Self::Events { tick, .. } => *tick,
            Self::End(end) => end.tick,
        }
    }
}

impl Serialize for RecordRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Tick { tick, ops } => {
                let mut t = s.serialize_tuple(3)?;
                t.serialize_element(&kind::TICK)?;
                t.serialize_element(&tick)?;
                t.serialize_element(ops)?;
                t.end()
            }
            Self::Snapshot { tick, keyframe, bytes } => {
                let mut t = s.serialize_tuple(4)?;
                t.serialize_element(&kind::SNAPSHOT)?;
                t.serialize_element(&tick)?;
                t.serialize_element(&keyframe)?;
                t.serialize_element(serde_bytes::Bytes::new(bytes))?;
                t.end()
            }
            Self::Events { tick, bytes } => {
                let mut t = s.serialize_tuple(3)?;
                t.serialize_element(&kind::EVENTS)?;
                t.serialize_element(&tick)?;
                t.serialize_element(serde_bytes::Bytes::new(bytes))?;
                t.end()
            }
            Self::End(end) => {
                let mut t = s.serialize_tuple(5)?;
                t.serialize_element(&kind::END)?;
                t.serialize_element(&end.tick)?;
                t.serialize_element(&end.reason)?;
                t.serialize_element(&end.players)?;
                t.serialize_element(&end.kills)?;
                t.end()
            }
        }
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_ref().serialize(s)
    }
}

/// Reads the next element of a record or op, or says which is missing.
fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A, what: &str) -> Result<T, A::Error> {
    seq.next_element()?.ok_or_else(|| de::Error::custom(format_args!("record is missing its {what}")))
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = Record;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a replay record (an array starting with its kind)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Record, A::Error> {
                let kind: u8 = next(&mut seq, "kind")?;
                let tick: u64 = next(&mut seq, "tick")?;
                let record = match kind {
                    kind::TICK => Record::Tick { tick, ops: next(&mut seq, "ops")? },
                    kind::SNAPSHOT => Record::Snapshot {
                        tick,
                        keyframe: next(&mut seq, "keyframe flag")?,
                        bytes: next::<_, serde_bytes::ByteBuf>(&mut seq, "bytes")?.into_vec(),
                    },
                    kind::EVENTS => Record::Events {
                        tick,
                        bytes: next::<_, serde_bytes::ByteBuf>(&mut seq, "bytes")?.into_vec(),
                    },
                    kind::END => Record::End(End {
                        tick,
                        reason: next(&mut seq, "reason")?,
                        players: next(&mut seq, "players")?,
                        kills: next(&mut seq, "kill count")?,
                    }),
                    other => return Err(de::Error::custom(format_args!("unknown record kind {other}"))),
                };
                // Later versions may append elements; this one reads past them.
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(record)
            }
        }
        d.deserialize_seq(RecordVisitor)
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Join { player, name, resume_after } => {
                let mut t = s.serialize_tuple(4)?;
                t.serialize_element(&op_kind::JOIN)?;
                t.serialize_element(player)?;
                t.serialize_element(name)?;
                t.serialize_element(resume_after)?;
                t.end()
            }
            Self::Leave { player } | Self::Despawn { player } => {
                let kind = if matches!(self, Self::Leave { .. }) { op_kind::LEAVE } else { op_kind::DESPAWN };
                let mut t = s.serialize_tuple(2)?;
                t.serialize_element(&kind)?;
                t.serialize_element(player)?;
                t.end()
            }
            Self::Input { player, input } => {
                let mut t = s.serialize_tuple(8)?;
                t.serialize_element(&op_kind::INPUT)?;
                t.serialize_element(player)?;
                t.serialize_element(&input.seq)?;
                t.serialize_element(&input.movement[0])?;
                t.serialize_element(&input.movement[1])?;
                t.serialize_element(&input.aim)?;
                t.serialize_element(&input.buttons)?;
                t.serialize_element(&input.view_tick)?;
                t.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OpVisitor;
        impl<'de> Visitor<'de> for OpVisitor {
            type Value = Op;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a replay op (an array starting with its kind)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Op, A::Error> {
                let kind: u8 = next(&mut seq, "op kind")?;
                let player: u32 = next(&mut seq, "player")?;
                let op = match kind {
                    op_kind::JOIN => Op::Join {
                        player,
                        name: next(&mut seq, "name")?,
                        resume_after: next(&mut seq, "resume point")?,
                    },
                    op_kind::LEAVE => Op::Leave { player },
                    op_kind::DESPAWN => Op::Despawn { player },
                    op_kind::INPUT => Op::Input {
                        player,
                        input: Input {
                            seq: next(&mut seq, "input seq")?,
                            movement: [next(&mut seq, "movement x")?, next(&mut seq, "movement y")?],
                            aim: next(&mut seq, "aim")?,
                            buttons: next(&mut seq, "buttons")?,
                            view_tick: next(&mut seq, "view tick")?,
                        },
                    },
                    other => return Err(de::Error::custom(format_args!("unknown op kind {other}"))),
                };
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(op)
            }
        }
        d.deserialize_seq(OpVisitor)
    }
}

/// Why a replay could not be read or written.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with [`MAGIC`].
    #[error("not an Arena replay (it does not start with {:?})", std::str::from_utf8(&MAGIC).unwrap_or_default())]
    NotAReplay,
    /// The file is of a newer format than this reader knows.
    #[error("replay format {found} is newer than this version reads ({supported}); update Arena to read it")]
    NewerFormat {
        /// The file's version.
        found: u16,
        /// The newest this reader reads.
        supported: u16,
    },
    /// The file ends in the middle of a chunk (the server stopped while writing it, or the copy is
    /// incomplete).
    #[error("the replay is truncated: chunk {chunk} at byte {offset} is cut off")]
    Truncated {
        /// The chunk's number (0 is the header).
        chunk: usize,
        /// Where it starts in the file.
        offset: u64,
    },
    /// A chunk claims more than [`MAX_CHUNK_BYTES`].
    #[error("chunk {chunk} claims {len} bytes, over the limit of {MAX_CHUNK_BYTES}")]
    ChunkTooLarge {
        /// The chunk's number.
        chunk: usize,
        /// What it claims.
        len: u64,
    },
    /// A chunk does not decompress or does not hold records.
    #[error("chunk {chunk} is damaged: {detail}")]
    Corrupt {
        /// The chunk's number.
        chunk: usize,
        /// What is wrong.
        detail: String,
    },
    /// A record could not be encoded (a bug).
    #[error("could not encode a replay record: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
}

/// The first bytes of a replay file: [`MAGIC`] and [`FORMAT_VERSION`].
pub fn prelude() -> [u8; 10] {
    let mut out = [0; 10];
    out[..8].copy_from_slice(&MAGIC);
    out[8..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out
}

/// Appends `record` to a chunk being built.
pub fn encode_record(record: RecordRef<'_>, chunk: &mut Vec<u8>) -> Result<(), ReplayError> {
    record.serialize(&mut rmp_serde::Serializer::new(chunk))?;
    Ok(())
}

/// The header's chunk contents (before compression).
pub fn encode_header(header: &Header) -> Result<Vec<u8>, ReplayError> {
    let mut out = Vec::new();
    header.serialize(&mut rmp_serde::Serializer::new(&mut out).with_struct_map())?;
    Ok(out)
}

/// Compresses a chunk's records and appends it, with its length, as it goes in the file.
pub fn compress_chunk(records: &[u8], out: &mut Vec<u8>) -> Result<(), ReplayError> {
    let compressed = zstd::bulk::compress(records, COMPRESSION_LEVEL)?;
    let len = u32::try_from(compressed.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&compressed);
    Ok(())
}

/// A whole replay in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Its header.
    pub header: Header,
    /// Its records, in order.
    pub records: Vec<Record>,
}

impl Replay {
    /// The end record, when the replay is complete.
    pub fn end(&self) -> Option<&End> {
        match self.records.last() {
            Some(Record::End(end)) => Some(end),
            _ => None,
        }
    }

    /// The file's bytes: the header chunk, then a chunk at each keyframe snapshot, the end in a chunk
    /// of its own.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ReplayError> {
        let mut writer = ReplayWriter::new(Vec::new(), &self.header)?;
        let mut chunk = Vec::new();
        for record in &self.records {
            let starts_chunk = matches!(record, Record::Snapshot { keyframe: true, .. } | Record::End(_));
            if starts_chunk && !chunk.is_empty() {
                writer.write_chunk(&chunk)?;
                chunk.clear();
            }
            encode_record(record.as_ref(), &mut chunk)?;
        }
        if !chunk.is_empty() {
            writer.write_chunk(&chunk)?;
        }
        writer.finish()
    }

    /// Reads a whole replay.
    pub fn read(reader: impl Read) -> Result<Self, ReplayError> {
        let mut reader = ReplayReader::new(reader)?;
        let mut records = Vec::new();
        while reader.next_chunk(&mut records)? {}
        Ok(Self { header: reader.header, records })
    }
}

/// Reads a replay chunk by chunk.
#[derive(Debug)]
pub struct ReplayReader<R> {
    chunks: Chunks<R>,
    header: Header,
}

/// The chunks of a file, past its prelude.
#[derive(Debug)]
struct Chunks<R> {
    reader: R,
    /// The next chunk's number, and where it starts.
    chunk: usize,
    offset: u64,
}

impl<R: Read> ReplayReader<R> {
    /// Checks the prelude and reads the header.
    pub fn new(mut reader: R) -> Result<Self, ReplayError> {
        let mut prelude = [0; 10];
        reader.read_exact(&mut prelude).map_err(|err| match err.kind() {
            std::io::ErrorKind::UnexpectedEof => ReplayError::NotAReplay,
            _ => ReplayError::Io(err),
        })?;
        if prelude[..8] != MAGIC {
            return Err(ReplayError::NotAReplay);
        }
        let found = u16::from_le_bytes([prelude[8], prelude[9]]);
        if found > FORMAT_VERSION {
            return Err(ReplayError::NewerFormat { found, supported: FORMAT_VERSION });
        }
        let mut chunks = Chunks { reader, chunk: 0, offset: 10 };
        let Some(bytes) = chunks.read_chunk()? else {
            return Err(ReplayError::Truncated { chunk: 0, offset: 10 });
        };
        let header = rmp_serde::from_slice(&bytes)
            .map_err(|err| ReplayError::Corrupt { chunk: 0, detail: format!("header: {err}") })?;
        Ok(Self { chunks, header })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Appends the next chunk's records to `out`; false at the end of the file.
    pub fn next_chunk(&mut self, out: &mut Vec<Record>) -> Result<bool, ReplayError> {
        let chunk = self.chunks.chunk;
        let Some(bytes) = self.chunks.read_chunk()? else { return Ok(false) };
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let record = Record::deserialize(&mut rmp_serde::Deserializer::new(&mut rest))
                .map_err(|err| ReplayError::Corrupt { chunk, detail: err.to_string() })?;
            out.push(record);
        }
        Ok(true)
    }
}

impl<R: Read> Chunks<R> {
    /// The next chunk, decompressed; `None` at the end of the file.
    fn read_chunk(&mut self) -> Result<Option<Vec<u8>>, ReplayError> {
        let (chunk, offset) = (self.chunk, self.offset);
        let Some(len) = self.read_len()? else { return Ok(None) };
        let mut compressed = Vec::new();
        (&mut self.reader).take(len).read_to_end(&mut compressed)?;
        if (compressed.len() as u64) < len {
            return Err(ReplayError::Truncated { chunk, offset });
        }
        self.chunk += 1;
        self.offset += 4 + len;
        let corrupt = |detail: String| ReplayError::Corrupt { chunk, detail };
        let mut decoder =
            zstd::stream::read::Decoder::new(&compressed[..]).map_err(|e| corrupt(e.to_string()))?;
        let mut bytes = Vec::new();
        (&mut decoder)
            .take(MAX_CHUNK_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| corrupt(e.to_string()))?;
        if bytes.len() > MAX_CHUNK_BYTES {
            return Err(ReplayError::ChunkTooLarge { chunk, len: bytes.len() as u64 });
        }
        Ok(Some(bytes))
    }

    /// The next chunk's length; `None` at a clean end of the file.
    fn read_len(&mut self) -> Result<Option<u64>, ReplayError> {
        let (chunk, offset) = (self.chunk, self.offset);
        let mut len = [0; 4];
        let mut got = 0;
        while got < 4 {
            match self.reader.read(&mut len[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(ReplayError::Truncated { chunk, offset }),
                Ok(n) => got += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err.into()),
            }
        }
        let len = u64::from(u32::from_le_bytes(len));
        if len > MAX_CHUNK_BYTES as u64 {
            return Err(ReplayError::ChunkTooLarge { chunk, len });
        }
        Ok(Some(len))
    }
}

impl<R: Read + Seek> ReplayReader<R> {
    /// The header and the end record, read without decompressing what lies between (the chunk
    /// lengths are skipped over); no end when the replay is incomplete.
    pub fn summary(reader: R) -> Result<(Header, Option<End>), ReplayError> {
        let mut this = Self::new(reader)?;
        let chunks = &mut this.chunks;
        // Seeking past the end succeeds; the file's length tells a cut-off chunk.
        let file_len = chunks.reader.seek(SeekFrom::End(0))?;
        chunks.reader.seek(SeekFrom::Start(chunks.offset))?;
        let mut last = None;
        loop {
            let (chunk, offset) = (chunks.chunk, chunks.offset);
            let Some(len) = chunks.read_len()? else { break };
            let end = offset + 4 + len;
            if end > file_len {
                return Err(ReplayError::Truncated { chunk, offset });
            }
            chunks.reader.seek(SeekFrom::Start(end))?;
            last = Some((chunk, offset));
            chunks.chunk += 1;
            chunks.offset = end;
        }
        let Some((chunk, offset)) = last else { return Ok((this.header, None)) };
        chunks.reader.seek(SeekFrom::Start(offset))?;
        chunks.chunk = chunk;
        chunks.offset = offset;
        let mut records = Vec::new();
        this.next_chunk(&mut records)?;
        let end = match records.pop() {
            Some(Record::End(end)) => Some(end),
            _ => None,
        };
        Ok((this.header, end))
    }
}

/// Writes a replay file as the match goes: the prelude and header first, then chunks as they fill.
/// Nothing is buffered here beyond one chunk's compression.
#[derive(Debug)]
pub struct ReplayWriter<W> {
    out: W,
    scratch: Vec<u8>,
    written: u64,
}

impl<W: Write> ReplayWriter<W> {
    /// Writes the prelude and `header`'s chunk.
    pub fn new(mut out: W, header: &Header) -> Result<Self, ReplayError> {
        let mut scratch = prelude().to_vec();
        compress_chunk(&encode_header(header)?, &mut scratch)?;
        out.write_all(&scratch)?;
        let written = scratch.len() as u64;
        scratch.clear();
        Ok(Self { out, scratch, written })
    }

    /// Compresses and writes one chunk of encoded records (see [`encode_record`]).
    pub fn write_chunk(&mut self, records: &[u8]) -> Result<(), ReplayError> {
        self.scratch.clear();
        compress_chunk(records, &mut self.scratch)?;
        self.out.write_all(&self.scratch)?;
        self.written += self.scratch.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and hands back the output.
    pub fn finish(mut self) -> Result<W, ReplayError> {
        self.out.flush()?;
        Ok(self.out)
    }
}
