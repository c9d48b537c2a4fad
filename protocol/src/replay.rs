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
//!
//! Why an input block (format 2): inputs are most of a match (one per player per tick), and most of
//! their bytes are floats that change a little every tick. Each chunk keeps its inputs apart from its
//! records, player by player and field by field, each coded against the player's previous input in
//! the chunk, so that what does not change costs nothing and zstd sees like next to like. The tick
//! records name the player only. A reader puts the inputs back, so its callers see whole
//! [`Op::Input`]s, as a format 1 file gives them.

use std::collections::BTreeMap;
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
/// Format 1 (no input blocks) reads as it is: it is format 2 without them.
pub const FORMAT_VERSION: u16 = 2;

/// A replay file's name ends with this (after a dot).
pub const FILE_EXTENSION: &str = "arena-replay";

/// The largest chunk a reader accepts, compressed or not: a chunk holds a few seconds of one room, far
/// below this; anything larger is a damaged or hostile file, refused before it fills memory.
pub const MAX_CHUNK_BYTES: usize = 32 << 20;

/// The zstd level chunks are written at. Measured on a 16-player fight (REPLAY.md, "Size"): 0.6 ms a
/// 5 s chunk; level 15 saves 2% more at 3.1 ms, level 3 costs 3% more room. The writer runs off the
/// tick path, but shares the machine with the game loops.
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
    /// The chunk's input block (format 2): not a record, and not about a tick.
    pub(super) const INPUTS: u8 = 5;
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

/// A record as a chunk holds it: tick records name the player of each input, whose fields are in the
/// chunk's input block ([`ChunkBuilder`] puts them there).
struct Wire<'a>(RecordRef<'a>);

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            RecordRef::Tick { tick, ops } => {
                let mut t = s.serialize_tuple(3)?;
                t.serialize_element(&kind::TICK)?;
                t.serialize_element(&tick)?;
                t.serialize_element(&WireOps(ops))?;
                t.end()
            }
            RecordRef::Snapshot { tick, keyframe, bytes } => {
                let mut t = s.serialize_tuple(4)?;
                t.serialize_element(&kind::SNAPSHOT)?;
                t.serialize_element(&tick)?;
                t.serialize_element(&keyframe)?;
                t.serialize_element(serde_bytes::Bytes::new(bytes))?;
                t.end()
            }
            RecordRef::Events { tick, bytes } => {
                let mut t = s.serialize_tuple(3)?;
                t.serialize_element(&kind::EVENTS)?;
                t.serialize_element(&tick)?;
                t.serialize_element(serde_bytes::Bytes::new(bytes))?;
                t.end()
            }
            RecordRef::End(end) => {
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

/// A tick record's ops: an input as its player's id (the rest is in the input block), others whole.
struct WireOps<'a>(&'a [Op]);

impl Serialize for WireOps<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|op| match op {
            Op::Input { player, .. } => WireOp::Input(*player),
            other => WireOp::Whole(other),
        }))
    }
}

/// An op as a chunk holds it.
enum WireOp<T> {
    /// An array, the op whole (every input op of a format 1 file is one).
    Whole(T),
    /// An integer: the next input of this player in the chunk's input block.
    Input(u32),
}

impl<T: Serialize> Serialize for WireOp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Whole(op) => op.serialize(s),
            Self::Input(player) => s.serialize_u32(*player),
        }
    }
}

impl<'de> Deserialize<'de> for WireOp<Op> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct WireOpVisitor;
        impl<'de> Visitor<'de> for WireOpVisitor {
            type Value = WireOp<Op>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a replay op (an array starting with its kind, or a player's id)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                u32::try_from(v)
                    .map(WireOp::Input)
                    .map_err(|_| E::custom(format_args!("an input of player {v}, beyond any player id")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format_args!("an input of player {v}, below any player id"))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                OpVisitor.visit_seq(seq).map(WireOp::Whole)
            }
        }
        d.deserialize_any(WireOpVisitor)
    }
}

/// Reads the next element of a record or op, or says which is missing.
fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A, what: &str) -> Result<T, A::Error> {
    seq.next_element()?.ok_or_else(|| de::Error::custom(format_args!("record is missing its {what}")))
}

/// One value of a chunk, as read.
enum Item {
    /// The chunk's input block.
    Inputs(inputs::Block),
    /// A tick record, its inputs not yet taken from the input block.
    Tick { tick: u64, ops: Vec<WireOp<Op>> },
    /// Any other record.
    Record(Record),
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a replay record (an array starting with its kind)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
                let kind: u8 = next(&mut seq, "kind")?;
                let item = if kind == kind::INPUTS {
                    let bytes = |b: serde_bytes::ByteBuf| b.into_vec();
                    Item::Inputs(inputs::Block {
                        players: next(&mut seq, "players")?,
                        control: bytes(next(&mut seq, "control column")?),
                        move_x: bytes(next(&mut seq, "move_x column")?),
                        move_x_low: bytes(next(&mut seq, "move_x_low column")?),
                        move_y: bytes(next(&mut seq, "move_y column")?),
                        aim: bytes(next(&mut seq, "aim column")?),
                        aim_low: bytes(next(&mut seq, "aim_low column")?),
                    })
                } else {
                    let tick: u64 = next(&mut seq, "tick")?;
                    match kind {
                        kind::TICK => Item::Tick { tick, ops: next(&mut seq, "ops")? },
                        kind::SNAPSHOT => Item::Record(Record::Snapshot {
                            tick,
                            keyframe: next(&mut seq, "keyframe flag")?,
                            bytes: next::<_, serde_bytes::ByteBuf>(&mut seq, "bytes")?.into_vec(),
                        }),
                        kind::EVENTS => Item::Record(Record::Events {
                            tick,
                            bytes: next::<_, serde_bytes::ByteBuf>(&mut seq, "bytes")?.into_vec(),
                        }),
                        kind::END => Item::Record(Record::End(End {
                            tick,
                            reason: next(&mut seq, "reason")?,
                            players: next(&mut seq, "players")?,
                            kills: next(&mut seq, "kill count")?,
                        })),
                        other => return Err(de::Error::custom(format_args!("unknown record kind {other}"))),
                    }
                };
                // Later versions may append elements; this one reads past them.
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(item)
            }
        }
        d.deserialize_seq(ItemVisitor)
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

/// Reads an op written whole.
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

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(OpVisitor)
    }
}

/// The input block: each chunk's inputs, player by player, each coded against the player's previous
/// input in the chunk (the first against [`inputs::BEFORE`]), in columns of like values. REPLAY.md,
/// "The input block", is the spec of every byte here.
mod inputs {
    use std::collections::BTreeMap;

    use crate::{Input, VIEW_TICK_FRACTIONS};

    /// What a player's first input in a chunk is coded against.
    pub(super) const BEFORE: Input =
        Input { seq: 0, movement: [0.0, 0.0], aim: 0.0, buttons: 0, view_tick: None };

    /// The control byte's bits: which fields differ from the previous input (bit for bit); the others
    /// are equal to it, and the sequence number is the previous one plus one.
    const SEQ: u8 = 1;
    const MOVE_X: u8 = 2;
    const MOVE_Y: u8 = 4;
    const AIM: u8 = 8;
    const BUTTONS: u8 = 16;
    const VIEW_TICK: u8 = 32;
    const KNOWN: u8 = SEQ | MOVE_X | MOVE_Y | AIM | BUTTONS | VIEW_TICK;

    // The kinds of a changed view tick: its first byte, saying what follows.
    /// None: nothing follows.
    const VIEW_NONE: u8 = 0;
    /// The f64, big-endian.
    const VIEW_EXACT: u8 = 1;
    /// A varint: the whole number of ticks from the previous view tick (zigzag).
    const VIEW_WHOLE_STEP: u8 = 2;
    /// The step from the previous view tick in [`ordered64`] terms (zigzag), 8 bytes big-endian: its
    /// leading zeros compress, where a varint would spread the noise of its low bits over every byte.
    const VIEW_ORDERED_STEP: u8 = 3;
    /// A varint: the number of [`VIEW_TICK_FRACTIONS`]ths of a tick from the previous view tick
    /// (zigzag). The server keeps view ticks on that grid (browsers draw fractional ticks).
    const VIEW_FINE_STEP: u8 = 4;

    /// The block as read, columns still undecoded.
    pub(super) struct Block {
        /// Each player with inputs in the chunk, and how many, in the columns' order.
        pub(super) players: Vec<(u32, u32)>,
        pub(super) control: Vec<u8>,
        pub(super) move_x: Vec<u8>,
        pub(super) move_x_low: Vec<u8>,
        pub(super) move_y: Vec<u8>,
        pub(super) aim: Vec<u8>,
        pub(super) aim_low: Vec<u8>,
    }

    /// The columns being written, in the block's order.
    #[derive(Debug, Default)]
    pub(super) struct Columns {
        pub(super) control: Vec<u8>,
        pub(super) move_x: Vec<u8>,
        pub(super) move_x_low: Vec<u8>,
        pub(super) move_y: Vec<u8>,
        pub(super) aim: Vec<u8>,
        pub(super) aim_low: Vec<u8>,
    }

    impl Columns {
        /// The columns, in the block's order.
        pub(super) fn all(&self) -> [&[u8]; 6] {
            [&self.control, &self.move_x, &self.move_x_low, &self.move_y, &self.aim, &self.aim_low]
        }
    }

    /// Appends `input` to the columns, coded against `prev`.
    pub(super) fn encode(prev: &Input, input: &Input, c: &mut Columns) {
        let seq_step = input.seq.wrapping_sub(prev.seq.wrapping_add(1));
        let differs = |a: f32, b: f32| a.to_bits() != b.to_bits();
        let mut control = 0;
        for (bit, changed) in [
            (SEQ, seq_step != 0),
            (MOVE_X, differs(input.movement[0], prev.movement[0])),
            (MOVE_Y, differs(input.movement[1], prev.movement[1])),
            (AIM, differs(input.aim, prev.aim)),
            (BUTTONS, input.buttons != prev.buttons),
            (VIEW_TICK, input.view_tick.map(f64::to_bits) != prev.view_tick.map(f64::to_bits)),
        ] {
            if changed {
                control |= bit;
            }
        }
        c.control.push(control);
        if control & SEQ != 0 {
            put_varint(&mut c.control, u64::from(zigzag32(seq_step)));
        }
        if control & BUTTONS != 0 {
            c.control.push(input.buttons);
        }
        if control & VIEW_TICK != 0 {
            put_view_tick(prev.view_tick, input.view_tick, &mut c.control);
        }
        if control & MOVE_X != 0 {
            let step = zigzag32(ordered32(input.movement[0]).wrapping_sub(ordered32(prev.movement[0])));
            put_split(step, &mut c.move_x, &mut c.move_x_low);
        }
        if control & MOVE_Y != 0 {
            let [x, y] = input.movement;
            let negative = y.is_sign_negative();
            let step = zigzag32(ordered32(y).wrapping_sub(ordered32(unit_y(x, negative))));
            put_varint(&mut c.move_y, (u64::from(step) << 1) | u64::from(negative));
        }
        if control & AIM != 0 {
            let step = zigzag32(ordered32(input.aim).wrapping_sub(ordered32(prev.aim)));
            put_split(step, &mut c.aim, &mut c.aim_low);
        }
    }

    /// The inputs of a block, by player, in order.
    pub(super) type Queues = BTreeMap<u32, std::vec::IntoIter<Input>>;

    impl Block {
        /// Decodes every input, or says what is wrong.
        pub(super) fn decode(&self) -> Result<Queues, String> {
            let total: u64 = self.players.iter().map(|&(_, n)| u64::from(n)).sum();
            // Each input has a control byte: a count beyond that is damage, refused before allocating.
            if total > self.control.len() as u64 {
                return Err(format!(
                    "the input block claims {total} inputs but has {} control bytes",
                    self.control.len()
                ));
            }
            // Nor may the inputs take more memory than a chunk may hold bytes (a control byte is a
            // whole input of 40 bytes): a small, hostile file must not make the reader allocate gigabytes.
            let room = total.saturating_mul(std::mem::size_of::<Input>() as u64);
            if room > super::MAX_CHUNK_BYTES as u64 {
                return Err(format!("the input block claims {total} inputs, more than a chunk may hold"));
            }
            let mut c = Cursors {
                control: Cursor::new("control", &self.control),
                move_x: Cursor::new("move_x", &self.move_x),
                move_x_low: Cursor::new("move_x_low", &self.move_x_low),
                move_y: Cursor::new("move_y", &self.move_y),
                aim: Cursor::new("aim", &self.aim),
                aim_low: Cursor::new("aim_low", &self.aim_low),
            };
            let mut queues = Queues::new();
            for &(player, count) in &self.players {
                let mut list = Vec::with_capacity(count as usize);
                let mut prev = BEFORE;
                for _ in 0..count {
                    prev = decode(&prev, &mut c).map_err(|e| {
                        format!("input {} of player {player} in the input block: {e}", list.len())
                    })?;
                    list.push(prev);
                }
                if queues.insert(player, list.into_iter()).is_some() {
                    return Err(format!("the input block lists player {player} twice"));
                }
            }
            for cursor in [&c.control, &c.move_x, &c.move_x_low, &c.move_y, &c.aim, &c.aim_low] {
                if !cursor.bytes.is_empty() {
                    return Err(format!(
                        "the input block's {} column has {} bytes past its inputs",
                        cursor.name,
                        cursor.bytes.len()
                    ));
                }
            }
            Ok(queues)
        }
    }

    /// The next input from the columns, coded against `prev`.
    fn decode(prev: &Input, c: &mut Cursors<'_>) -> Result<Input, String> {
        let control = c.control.byte()?;
        if control & !KNOWN != 0 {
            return Err(format!("unknown control bits {control:#04x}"));
        }
        let mut input = *prev;
        input.seq = prev.seq.wrapping_add(1);
        if control & SEQ != 0 {
            input.seq = input.seq.wrapping_add(unzigzag32(c.control.varint_u32()?));
        }
        if control & BUTTONS != 0 {
            input.buttons = c.control.byte()?;
        }
        if control & VIEW_TICK != 0 {
            input.view_tick = view_tick(prev.view_tick, &mut c.control)?;
        }
        if control & MOVE_X != 0 {
            let step = unzigzag32(split(&mut c.move_x, &mut c.move_x_low)?);
            input.movement[0] = from_ordered32(ordered32(prev.movement[0]).wrapping_add(step));
        }
        if control & MOVE_Y != 0 {
            let code = c.move_y.varint()?;
            let step = u32::try_from(code >> 1).map_err(|_| "a move_y step beyond 32 bits".to_owned())?;
            let predicted = unit_y(input.movement[0], code & 1 == 1);
            input.movement[1] = from_ordered32(ordered32(predicted).wrapping_add(unzigzag32(step)));
        }
        if control & AIM != 0 {
            let step = unzigzag32(split(&mut c.aim, &mut c.aim_low)?);
            input.aim = from_ordered32(ordered32(prev.aim).wrapping_add(step));
        }
        Ok(input)
    }

    /// How a changed view tick is written: a step from the previous one (in whole ticks when that is
    /// exact: bots and tests draw whole ticks), else the value.
    fn put_view_tick(prev: Option<f64>, view: Option<f64>, out: &mut Vec<u8>) {
        match (prev, view) {
            (_, None) => out.push(VIEW_NONE),
            (None, Some(view)) => {
                out.push(VIEW_EXACT);
                out.extend_from_slice(&view.to_be_bytes());
            }
            (Some(prev), Some(view)) => {
                match (whole_step(prev, view, 1.0), whole_step(prev, view, VIEW_TICK_FRACTIONS)) {
                    (Some(step), _) => {
                        out.push(VIEW_WHOLE_STEP);
                        put_varint(out, zigzag64(step as u64));
                    }
                    (None, Some(step)) => {
                        out.push(VIEW_FINE_STEP);
                        put_varint(out, zigzag64(step as u64));
                    }
                    (None, None) => {
                        out.push(VIEW_ORDERED_STEP);
                        let step = zigzag64(ordered64(view).wrapping_sub(ordered64(prev)));
                        out.extend_from_slice(&step.to_be_bytes());
                    }
                }
            }
        }
    }

    fn view_tick(prev: Option<f64>, c: &mut Cursor<'_>) -> Result<Option<f64>, String> {
        let tag = c.byte()?;
        let relative = || prev.ok_or_else(|| format!("view tick kind {tag} is a step from none"));
        Ok(Some(match tag {
            VIEW_NONE => return Ok(None),
            VIEW_EXACT => f64::from_be_bytes(c.array()?),
            VIEW_WHOLE_STEP => {
                let prev = relative()?;
                prev + (unzigzag64(c.varint()?) as i64) as f64
            }
            VIEW_FINE_STEP => {
                let prev = relative()?;
                prev + (unzigzag64(c.varint()?) as i64) as f64 / VIEW_TICK_FRACTIONS
            }
            VIEW_ORDERED_STEP => {
                let prev = relative()?;
                from_ordered64(ordered64(prev).wrapping_add(unzigzag64(u64::from_be_bytes(c.array()?))))
            }
            other => return Err(format!("unknown view tick kind {other}")),
        }))
    }

    /// `view - prev` in `1 / fractions` of a tick, when it is a whole number of them that added to
    /// `prev` (as `prev + step / fractions`) gives `view` back exactly. `fractions` is a power of two, so
    /// the scaling itself is exact.
    fn whole_step(prev: f64, view: f64, fractions: f64) -> Option<i64> {
        let step = (view - prev) * fractions;
        // Below 2^53 every whole f64 is an i64 and back (NaN and infinities have no whole part).
        if step.fract() != 0.0 || step.abs() >= 9_007_199_254_740_992.0 {
            return None;
        }
        let step = step as i64;
        ((prev + step as f64 / fractions).to_bits() == view.to_bits()).then_some(step)
    }

    /// The y of the unit vector with this x, on the side `negative` says: what a direction of length 1
    /// (what clients send when they move) has. Only correctly rounded f32 operations, so every machine
    /// computes the same.
    fn unit_y(x: f32, negative: bool) -> f32 {
        let y = (1.0 - x * x).max(0.0).sqrt();
        if negative { -y } else { y }
    }

    /// An f32's bits as an integer in the order of the values (negative below positive), so that close
    /// values have close codes. One to one: -0.0, NaNs and infinities keep their bits.
    fn ordered32(x: f32) -> u32 {
        let bits = x.to_bits();
        if bits >> 31 == 1 { !bits } else { bits | 1 << 31 }
    }

    fn from_ordered32(code: u32) -> f32 {
        f32::from_bits(if code >> 31 == 1 { code & !(1 << 31) } else { !code })
    }

    /// As [`ordered32`], for f64.
    fn ordered64(x: f64) -> u64 {
        let bits = x.to_bits();
        if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
    }

    fn from_ordered64(code: u64) -> f64 {
        f64::from_bits(if code >> 63 == 1 { code & !(1 << 63) } else { !code })
    }

    /// A wrapping difference, small either side of zero, as a small unsigned number: 0, -1, 1, -2, ...
    /// are 0, 1, 2, 3, ...
    fn zigzag32(step: u32) -> u32 {
        (step << 1) ^ (step >> 31).wrapping_neg()
    }

    fn unzigzag32(code: u32) -> u32 {
        (code >> 1) ^ (code & 1).wrapping_neg()
    }

    fn zigzag64(step: u64) -> u64 {
        (step << 1) ^ (step >> 63).wrapping_neg()
    }

    fn unzigzag64(code: u64) -> u64 {
        (code >> 1) ^ (code & 1).wrapping_neg()
    }

    /// A number in 7-bit groups, least significant first, the high bit set on all but the last.
    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// A float's step: its low byte in `low`, the rest as a varint in `high` (the low bytes are noise;
    /// apart, they do not spoil the statistics zstd keeps of the rest).
    fn put_split(step: u32, high: &mut Vec<u8>, low: &mut Vec<u8>) {
        low.push((step & 0xff) as u8);
        put_varint(high, u64::from(step >> 8));
    }

    fn split(high: &mut Cursor<'_>, low: &mut Cursor<'_>) -> Result<u32, String> {
        let high = u32::try_from(high.varint()?)
            .ok()
            .filter(|h| *h < 1 << 24)
            .ok_or_else(|| "a step beyond 32 bits".to_owned())?;
        Ok(high << 8 | u32::from(low.byte()?))
    }

    /// The columns being read.
    struct Cursors<'a> {
        control: Cursor<'a>,
        move_x: Cursor<'a>,
        move_x_low: Cursor<'a>,
        move_y: Cursor<'a>,
        aim: Cursor<'a>,
        aim_low: Cursor<'a>,
    }

    /// One column being read.
    struct Cursor<'a> {
        name: &'static str,
        bytes: &'a [u8],
    }

    impl<'a> Cursor<'a> {
        fn new(name: &'static str, bytes: &'a [u8]) -> Self {
            Self { name, bytes }
        }

        fn ended(&self) -> String {
            format!("the {} column ends early", self.name)
        }

        fn byte(&mut self) -> Result<u8, String> {
            let (&first, rest) = self.bytes.split_first().ok_or_else(|| self.ended())?;
            self.bytes = rest;
            Ok(first)
        }

        fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
            let (first, rest) = self.bytes.split_first_chunk::<N>().ok_or_else(|| self.ended())?;
            self.bytes = rest;
            Ok(*first)
        }

        fn varint(&mut self) -> Result<u64, String> {
            let mut v = 0;
            for shift in (0..64).step_by(7) {
                let byte = self.byte()?;
                if shift == 63 && byte > 1 {
                    break;
                }
                v |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return Ok(v);
                }
            }
            Err(format!("a number in the {} column is longer than 64 bits", self.name))
        }

        fn varint_u32(&mut self) -> Result<u32, String> {
            let v = self.varint()?;
            u32::try_from(v)
                .map_err(|_| format!("a number in the {} column is longer than 32 bits", self.name))
        }
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

/// The header's chunk contents (before compression).
pub fn encode_header(header: &Header) -> Result<Vec<u8>, ReplayError> {
    let mut out = Vec::new();
    header.serialize(&mut rmp_serde::Serializer::new(&mut out).with_struct_map())?;
    Ok(out)
}

/// Compresses a chunk's contents, given in parts, into one zstd frame and appends it, with its length,
/// as it goes in the file. Each part ends a zstd block: a block has one set of statistics, and the
/// input block's columns (noise, small steps, flags) and the records each compress best with their
/// own (measured: 5% of a 16-player fight).
fn compress_chunk(parts: &[&[u8]], out: &mut Vec<u8>) -> Result<(), ReplayError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let mut encoder = zstd::stream::write::Encoder::new(&mut *out, COMPRESSION_LEVEL)?;
    encoder.set_pledged_src_size(Some(parts.iter().map(|p| p.len() as u64).sum()))?;
    for part in parts.iter().filter(|p| !p.is_empty()) {
        encoder.write_all(part)?;
        encoder.flush()?;
    }
    encoder.finish()?;
    let len = u32::try_from(out.len() - start - 4).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// A chunk being filled: its records, encoded as they come, and the inputs of its tick records, kept
/// aside by player for its input block. [`ReplayWriter::write_chunk`] writes it.
#[derive(Debug, Default)]
pub struct ChunkBuilder {
    records: Vec<u8>,
    /// By player; each player's inputs in the order of the tick records.
    inputs: BTreeMap<u32, Vec<Input>>,
}

impl ChunkBuilder {
    /// Appends a record.
    pub fn push(&mut self, record: RecordRef<'_>) -> Result<(), ReplayError> {
        let len = self.records.len();
        if let Err(err) = Wire(record).serialize(&mut rmp_serde::Serializer::new(&mut self.records)) {
            self.records.truncate(len);
            return Err(err.into());
        }
        if let RecordRef::Tick { ops, .. } = record {
            for op in ops {
                if let Op::Input { player, input } = op {
                    self.inputs.entry(*player).or_default().push(*input);
                }
            }
        }
        Ok(())
    }

    /// Whether no record was pushed since the last [`Self::clear`].
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Empties the chunk, keeping its room.
    pub fn clear(&mut self) {
        self.records.clear();
        self.inputs.clear();
    }

    /// The chunk so far, leaving an empty one with as much room for records.
    pub fn take(&mut self) -> Self {
        let records = Vec::with_capacity(self.records.capacity());
        Self {
            records: std::mem::replace(&mut self.records, records),
            inputs: std::mem::take(&mut self.inputs),
        }
    }

    /// The input block, encoded into `out` (nothing when the chunk has no inputs), with the ends of
    /// its parts (see [`compress_chunk`]).
    fn encode_inputs(&self, out: &mut Vec<u8>, ends: &mut Vec<usize>) -> Result<(), ReplayError> {
        out.clear();
        ends.clear();
        if self.inputs.is_empty() {
            return Ok(());
        }
        let mut columns = inputs::Columns::default();
        let mut players = Vec::with_capacity(self.inputs.len());
        for (&player, list) in &self.inputs {
            let mut prev = inputs::BEFORE;
            for input in list {
                inputs::encode(&prev, input, &mut columns);
                prev = *input;
            }
            players.push((player, list.len()));
        }
        // The block is an array (kind, players, columns), written element by element to know where
        // each column ends: a MessagePack fixarray's first byte is 0x90 and its length.
        let columns = columns.all();
        out.push(0x90 | (2 + columns.len() as u8));
        let mut ser = rmp_serde::Serializer::new(&mut *out);
        kind::INPUTS.serialize(&mut ser)?;
        players.serialize(&mut ser)?;
        for column in columns {
            serde_bytes::Bytes::new(column).serialize(&mut rmp_serde::Serializer::new(&mut *out))?;
            ends.push(out.len());
        }
        Ok(())
    }
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
        let mut chunk = ChunkBuilder::default();
        for record in &self.records {
            let starts_chunk = matches!(record, Record::Snapshot { keyframe: true, .. } | Record::End(_));
            if starts_chunk && !chunk.is_empty() {
                writer.write_chunk(&chunk)?;
                chunk.clear();
            }
            chunk.push(record.as_ref())?;
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

    /// Appends the next chunk's records to `out`, inputs whole; false at the end of the file.
    pub fn next_chunk(&mut self, out: &mut Vec<Record>) -> Result<bool, ReplayError> {
        let chunk = self.chunks.chunk;
        let Some(bytes) = self.chunks.read_chunk()? else { return Ok(false) };
        decode_chunk(&bytes, out).map_err(|detail| ReplayError::Corrupt { chunk, detail })?;
        Ok(true)
    }
}

/// Appends a chunk's records to `out`, each input taken from the chunk's input block.
fn decode_chunk(mut bytes: &[u8], out: &mut Vec<Record>) -> Result<(), String> {
    let first = out.len();
    let mut inputs: Option<inputs::Queues> = None;
    while !bytes.is_empty() {
        let item =
            Item::deserialize(&mut rmp_serde::Deserializer::new(&mut bytes)).map_err(|e| e.to_string())?;
        match item {
            Item::Inputs(block) => {
                if inputs.is_some() || out.len() > first {
                    return Err("an input block that is not the chunk's first value".into());
                }
                inputs = Some(block.decode()?);
            }
            Item::Tick { tick, ops } => {
                let mut whole = Vec::with_capacity(ops.len());
                for op in ops {
                    whole.push(match op {
                        WireOp::Whole(op) => op,
                        WireOp::Input(player) => {
                            let Some(inputs) = &mut inputs else {
                                return Err(format!(
                                    "tick {tick} has an input of player {player} from the chunk's input block, \
                                     and the chunk has none"
                                ));
                            };
                            let input = inputs.get_mut(&player).and_then(Iterator::next).ok_or_else(|| {
                                format!("tick {tick} has an input of player {player} beyond the chunk's input block")
                            })?;
                            Op::Input { player, input }
                        }
                    });
                }
                out.push(Record::Tick { tick, ops: whole });
            }
            Item::Record(record) => out.push(record),
        }
    }
    for (player, rest) in inputs.iter().flatten() {
        if rest.len() > 0 {
            return Err(format!(
                "the chunk's input block has {} inputs of player {player} that no tick record takes",
                rest.len()
            ));
        }
    }
    Ok(())
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
    /// A chunk's compressed bytes, then its input block (both kept for their room).
    scratch: Vec<u8>,
    block: Vec<u8>,
    block_ends: Vec<usize>,
    written: u64,
}

impl<W: Write> ReplayWriter<W> {
    /// Writes the prelude and `header`'s chunk.
    pub fn new(mut out: W, header: &Header) -> Result<Self, ReplayError> {
        let mut scratch = prelude().to_vec();
        compress_chunk(&[&encode_header(header)?], &mut scratch)?;
        out.write_all(&scratch)?;
        let written = scratch.len() as u64;
        scratch.clear();
        Ok(Self { out, scratch, block: Vec::new(), block_ends: Vec::new(), written })
    }

    /// Encodes, compresses and writes one chunk: its input block, then its records.
    pub fn write_chunk(&mut self, chunk: &ChunkBuilder) -> Result<(), ReplayError> {
        chunk.encode_inputs(&mut self.block, &mut self.block_ends)?;
        let mut parts = Vec::with_capacity(self.block_ends.len() + 1);
        let mut start = 0;
        for &end in &self.block_ends {
            parts.push(&self.block[start..end]);
            start = end;
        }
        parts.push(&chunk.records[..]);
        self.scratch.clear();
        compress_chunk(&parts, &mut self.scratch)?;
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
