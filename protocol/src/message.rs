//! The messages of the game protocol and the records they carry.
//!
//! Every message is a MessagePack **map** with a `"t"` key naming its type and one key per field (serde's
//! internally tagged representation, encoded with field names). Maps cost a few bytes but make the
//! protocol self-describing and easy to read from any language. The one exception is the per-entity
//! record inside a snapshot, which dominates the bandwidth: it is a fixed-order **array** (see
//! [`EntityState`]).

use serde::{Deserialize, Serialize};

/// A message from a client to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClientMsg {
    /// The first message on every connection. The server answers [`ServerMsg::Welcome`], or
    /// [`ErrorCode::VersionMismatch`] / [`ErrorCode::BadName`] and a close.
    Hello {
        /// The [`crate::PROTOCOL_VERSION`] the client speaks.
        version: u16,
        /// The display name: 1 to [`crate::MAX_NAME_CHARS`] characters after trimming, no control
        /// characters.
        name: String,
    },
    /// Join the fullest public room with a free seat, or create a new public room.
    QuickPlay,
    /// Create a private room (joinable by its code only) and join it.
    CreateRoom,
    /// Join a room by its code (case-insensitive).
    JoinRoom {
        /// The room's code, e.g. `"KQZTR"`.
        code: String,
    },
    /// The player's controls for one tick. Send one per server tick while in a room.
    Input(Input),
    /// Ask for a [`ServerMsg::Pong`], to measure round-trip time and the server clock.
    Ping {
        /// The client's clock when it sent this, in milliseconds (any epoch); echoed back.
        client_time: f64,
    },
    /// Leave the current room; the connection stays open and may join another. Answered with
    /// [`ServerMsg::Left`].
    Leave,
}

/// The player's controls for one simulation tick.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// The client's sequence number, increasing by one per input. The server applies inputs in sequence
    /// order, at most one per tick, ignores stale or duplicate ones, and acknowledges the last one it
    /// applied in every snapshot.
    pub seq: u32,
    /// Desired movement direction `[x, y]` in arena units (x right, y down). Longer than 1 is scaled down
    /// to length 1; non-finite values count as zero.
    pub movement: [f32; 2],
    /// Aim angle in radians, 0 = +x, increasing toward +y.
    pub aim: f32,
    /// Button bit set; see [`Buttons`].
    pub buttons: u8,
}

/// Bits of [`Input::buttons`].
#[derive(Debug)]
pub struct Buttons;

impl Buttons {
    /// Fire the primary weapon.
    pub const FIRE: u8 = 1;
}

/// A message from the server to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The answer to [`ClientMsg::Hello`].
    Welcome(Welcome),
    /// The client is now in a room: the answer to quick play, create and join.
    Joined(Joined),
    /// The client left its room: the answer to [`ClientMsg::Leave`].
    Left,
    /// The state of the client's room at one tick. The same bytes go to every player of the room.
    Snapshot(Snapshot),
    /// The answer to [`ClientMsg::Ping`].
    Pong {
        /// The `client_time` of the ping, unchanged.
        client_time: f64,
        /// The server's clock when it answered, in milliseconds since it started.
        server_time: f64,
    },
    /// Something went wrong. Errors whose code [`ErrorCode::is_fatal`] are followed by a close frame
    /// carrying the same code as its reason.
    Error {
        /// Stable, machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation; wording may change between releases.
        message: String,
    },
}

/// What the server tells a client after a successful hello.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// The player id of this connection; entities of this player carry the same id.
    pub player_id: u32,
    /// The server's protocol version.
    pub version: u16,
    /// Simulation ticks per second. Send one input per tick.
    pub tick_rate: u16,
    /// Snapshots per second.
    pub snapshot_rate: u16,
    /// The server's clock, in milliseconds since it started.
    pub server_time: f64,
    /// A secret (32 hex digits, 128 bits from a CSPRNG) that lets this player reclaim its seat after a
    /// lost connection.
    pub reconnect_token: String,
}

/// The room a client has joined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    /// The room's code; share it (or the invite link) to play together.
    pub room: String,
    /// Whether the room is listed publicly and filled by quick play.
    pub public: bool,
    /// The most players the room holds.
    pub capacity: u16,
    /// The arena's size `[width, height]` in arena units; positions run from 0 to these.
    pub arena: [f32; 2],
    /// Everyone in the room at the moment of joining, including the client itself.
    pub players: Vec<PlayerInfo>,
}

/// A player as listed in [`Joined`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerInfo {
    /// The player's id.
    pub id: u32,
    /// The player's display name.
    pub name: String,
}

/// The state of a room at one simulation tick.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The simulation tick this state is from. Ticks advance by one per `1 / tick_rate` seconds.
    pub tick: u64,
    /// For every player in the room, the sequence number of the last input the server applied:
    /// `[player_id, seq]` pairs. One table for everyone, so the same bytes serve every player; a client
    /// looks up its own id.
    pub acks: Vec<[u32; 2]>,
    /// Every entity in the room.
    pub entities: Vec<EntityState>,
}

impl Snapshot {
    /// The last input sequence number the server applied for `player`, if the player is in the room.
    pub fn ack_for(&self, player: u32) -> Option<u32> {
        self.acks.iter().find(|[p, _]| *p == player).map(|[_, seq]| *seq)
    }
}

/// One entity's state in a snapshot. On the wire it is an array in this exact field order:
/// `[id, kind, x, y, vx, vy, aim]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "EntityTuple", into = "EntityTuple")]
pub struct EntityState {
    /// Entity id; for ships, the owning player's id.
    pub id: u32,
    /// What the entity is.
    pub kind: EntityKind,
    /// Position `[x, y]` in arena units.
    pub pos: [f32; 2],
    /// Velocity `[vx, vy]` in arena units per second.
    pub vel: [f32; 2],
    /// Facing angle in radians.
    pub aim: f32,
}

type EntityTuple = (u32, EntityKind, f32, f32, f32, f32, f32);

impl From<EntityTuple> for EntityState {
    fn from((id, kind, x, y, vx, vy, aim): EntityTuple) -> Self {
        Self { id, kind, pos: [x, y], vel: [vx, vy], aim }
    }
}

impl From<EntityState> for EntityTuple {
    fn from(e: EntityState) -> Self {
        (e.id, e.kind, e.pos[0], e.pos[1], e.vel[0], e.vel[1], e.aim)
    }
}

/// What kind of thing an entity is. Encoded as an unsigned integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum EntityKind {
    /// A player's ship (code 0).
    Ship,
    /// A kind this version does not know; clients should ignore such entities.
    Unknown(u8),
}

impl From<u8> for EntityKind {
    fn from(code: u8) -> Self {
        match code {
            0 => Self::Ship,
            other => Self::Unknown(other),
        }
    }
}

impl From<EntityKind> for u8 {
    fn from(kind: EntityKind) -> Self {
        match kind {
            EntityKind::Ship => 0,
            EntityKind::Unknown(code) => code,
        }
    }
}

/// Stable error codes, encoded as snake_case strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The hello's version is not the server's [`crate::PROTOCOL_VERSION`]. Fatal.
    VersionMismatch,
    /// The bytes are not a valid message (bad MessagePack, wrong shape, wrong field types). Fatal.
    Malformed,
    /// The message's `"t"` names no message type. Fatal.
    UnknownMessage,
    /// The message is over [`crate::MAX_CLIENT_MESSAGE_BYTES`]. Fatal.
    TooLarge,
    /// The client sent a text frame; the protocol is binary MessagePack only. Fatal.
    TextFrame,
    /// The first message was not a hello, or a second hello came. Fatal.
    HelloRequired,
    /// The name is empty, too long, or has control characters. Fatal.
    BadName,
    /// The room is at capacity. The client may try another room.
    RoomFull,
    /// No room has that code. The client may try another code.
    RoomNotFound,
    /// The server is at its room limit and cannot create another. The client may retry later.
    ServerFull,
    /// The message needs a room and the client is in none (input before joining is not an error; it is
    /// dropped).
    NotInRoom,
    /// The client asked to join a room while already in one. Leave first.
    AlreadyInRoom,
    /// The client did not read its snapshots for too long. Fatal.
    TooSlow,
    /// The client sent messages faster than the server accepts them. Fatal.
    Flooding,
    /// The server is shutting down. Fatal.
    ShuttingDown,
    /// The room closed on an internal error. The client may join another.
    RoomClosed,
}

impl ErrorCode {
    /// Whether the server closes the connection after sending this error.
    pub fn is_fatal(self) -> bool {
        !matches!(
            self,
            Self::RoomFull
                | Self::RoomNotFound
                | Self::ServerFull
                | Self::NotInRoom
                | Self::AlreadyInRoom
                | Self::RoomClosed
        )
    }

    /// The code as it appears on the wire and in close-frame reasons, e.g. `"room_full"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VersionMismatch => "version_mismatch",
            Self::Malformed => "malformed",
            Self::UnknownMessage => "unknown_message",
            Self::TooLarge => "too_large",
            Self::TextFrame => "text_frame",
            Self::HelloRequired => "hello_required",
            Self::BadName => "bad_name",
            Self::RoomFull => "room_full",
            Self::RoomNotFound => "room_not_found",
            Self::ServerFull => "server_full",
            Self::NotInRoom => "not_in_room",
            Self::AlreadyInRoom => "already_in_room",
            Self::TooSlow => "too_slow",
            Self::Flooding => "flooding",
            Self::ShuttingDown => "shutting_down",
            Self::RoomClosed => "room_closed",
        }
    }

    /// Every code, in declaration order (for tests and documentation).
    pub const ALL: [ErrorCode; 16] = [
        Self::VersionMismatch,
        Self::Malformed,
        Self::UnknownMessage,
        Self::TooLarge,
        Self::TextFrame,
        Self::HelloRequired,
        Self::BadName,
        Self::RoomFull,
        Self::RoomNotFound,
        Self::ServerFull,
        Self::NotInRoom,
        Self::AlreadyInRoom,
        Self::TooSlow,
        Self::Flooding,
        Self::ShuttingDown,
        Self::RoomClosed,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
