//! The messages of the game protocol and the records they carry.
//!
//! Every message is a MessagePack **map** with a `"t"` key naming its type and one key per field (serde's
//! internally tagged representation, encoded with field names). Maps cost a few bytes but make the
//! protocol self-describing and easy to read from any language. The exceptions are the per-ship and
//! per-projectile records inside a snapshot, which dominate the bandwidth: they are **arrays** of
//! quantized integers (see [`crate::snapshot`] and [`POSITION_SCALE`]).

use serde::{Deserialize, Serialize};

use crate::SnapshotFrame;

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
        /// The `reconnect_token` of an earlier connection, to take back its seat (same player id, same
        /// room, score kept) within the server's reconnect grace period. Absent or nil for a new player.
        #[serde(default)]
        reconnect_token: Option<String>,
        /// The one-time `ticket` of a [`ServerMsg::Handoff`]: takes the seat (or spectator's place)
        /// another node of the cluster reserved on this one. Absent or nil otherwise. An unknown or
        /// expired ticket gets [`ErrorCode::BadTicket`] after the `welcome`, and the client is in no
        /// room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<String>,
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
    /// Watch a room by its code, as a spectator: the same snapshots and events as its players, but no
    /// ship and no seat (a full room can be watched). Answered with a [`ServerMsg::Joined`] whose
    /// `spectating` is true; `leave` stops watching (then `join_room` takes a seat when one is free).
    Watch {
        /// The room's code.
        code: String,
    },
    /// The player's controls for one tick. Send one per server tick while in a room (or gather them
    /// into [`ClientMsg::Inputs`] as [`Welcome::input_batch`] asks).
    Input(Input),
    /// The player's controls for consecutive ticks, oldest first: what a client sends every
    /// [`Welcome::input_batch`] ticks instead of one [`ClientMsg::Input`] per tick. Each is handled
    /// exactly as if it had come in its own `input`.
    Inputs(InputBatch),
    /// Ask for a [`ServerMsg::Pong`], to measure round-trip time and the server clock.
    Ping {
        /// The client's clock when it sent this, in milliseconds (any epoch); echoed back.
        client_time: f64,
    },
    /// Leave the current room; the connection stays open and may join another. Answered with
    /// [`ServerMsg::Left`].
    Leave,
    /// Say something in the room: to everyone in it, or (`to`) to one player only. The server strips
    /// control characters and surrounding white space; 1 to [`crate::MAX_CHAT_CHARS`] characters must
    /// be left, else [`ErrorCode::BadChat`]. At most [`crate::CHAT_BURST`] messages per
    /// [`crate::CHAT_WINDOW_SECS`] seconds: more are refused with [`ErrorCode::SlowDown`], and a client
    /// that keeps on is closed with [`ErrorCode::Flooding`]. Answered with the [`ServerMsg::Chat`]
    /// everyone it went to gets (the sender included).
    Chat {
        /// The message.
        text: String,
        /// A player or spectator of the room to whisper to (only they and the sender see it); absent for
        /// the room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<u32>,
    },
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
    /// The moment of the room the client was drawing other ships at when it sampled this input: a
    /// server tick, fractional (its interpolation time: between the snapshots of ticks `floor` and
    /// `ceil`). The server tests this input's shot against ships as they were then (lag compensation,
    /// within its `--max-rewind`). Absent (or not finite) for a client that draws no one in the past:
    /// its shots are tested against the present. The server uses it rounded to the nearest
    /// 1/[`VIEW_TICK_FRACTIONS`] of a tick ([`quantize_view_tick`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_tick: Option<f64>,
}

/// The inputs of one [`ClientMsg::Inputs`] message: 1 to [`crate::MAX_INPUTS_PER_MESSAGE`] of them,
/// held inline (decoding a batch allocates nothing; a longer list is refused while it is read).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InputBatch {
    /// The inputs, oldest first.
    pub inputs: InputList,
}

/// A list of at most [`crate::MAX_INPUTS_PER_MESSAGE`] inputs, stored inline; on the wire, an array.
#[derive(Clone, Copy, PartialEq)]
pub struct InputList {
    len: u8,
    items: [Input; crate::MAX_INPUTS_PER_MESSAGE],
}

const NO_INPUT: Input = Input { seq: 0, movement: [0.0, 0.0], aim: 0.0, buttons: 0, view_tick: None };

impl InputList {
    /// An empty list.
    pub const fn new() -> Self {
        Self { len: 0, items: [NO_INPUT; crate::MAX_INPUTS_PER_MESSAGE] }
    }

    /// Adds an input at the end; gives it back when the list is full.
    pub fn push(&mut self, input: Input) -> Result<(), Input> {
        let slot = self.items.get_mut(usize::from(self.len)).ok_or(input)?;
        *slot = input;
        self.len += 1;
        Ok(())
    }

    /// The inputs, oldest first.
    pub fn as_slice(&self) -> &[Input] {
        &self.items[..usize::from(self.len)]
    }
}

impl Default for InputList {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InputList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl FromIterator<Input> for InputList {
    /// Collects at most [`crate::MAX_INPUTS_PER_MESSAGE`] inputs; the rest are left out.
    fn from_iter<I: IntoIterator<Item = Input>>(iter: I) -> Self {
        let mut list = Self::new();
        for input in iter.into_iter().take(crate::MAX_INPUTS_PER_MESSAGE) {
            let _ = list.push(input);
        }
        list
    }
}

impl Serialize for InputList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.as_slice())
    }
}

impl<'de> Deserialize<'de> for InputList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = InputList;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "an array of 1 to {} inputs", crate::MAX_INPUTS_PER_MESSAGE)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<InputList, A::Error> {
                let mut list = InputList::new();
                while let Some(input) = seq.next_element::<Input>()? {
                    list.push(input)
                        .map_err(|_| serde::de::Error::invalid_length(list.as_slice().len() + 1, &self))?;
                }
                if list.as_slice().is_empty() {
                    return Err(serde::de::Error::invalid_length(0, &self));
                }
                Ok(list)
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
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
    /// The state of the client's room at one tick, as a keyframe or as a delta against the previous
    /// snapshot this client received (see [`crate::snapshot`]). Each is the same bytes for every player
    /// of the room that gets it.
    Snapshot(SnapshotFrame),
    /// Things that happened in the room since the last snapshot, in order; sent just before a snapshot.
    Events {
        /// The tick of the snapshot they precede.
        tick: u64,
        /// The events.
        events: Vec<GameEvent>,
    },
    /// The answer to [`ClientMsg::Ping`].
    Pong {
        /// The `client_time` of the ping, unchanged.
        client_time: f64,
        /// The server's clock when it answered, in milliseconds since it started.
        server_time: f64,
    },
    /// The match this client just played was recorded and saved: its replay is `/replays/{id}` on this
    /// server, watched at `#replay/{id}`. Sent to the room's players when the match ends (with its
    /// first results snapshot); the file is there a moment later.
    Replay {
        /// The replay's id (`YYYYMMDD-HHMMSS-xxxxxxxx`).
        id: String,
    },
    /// A player or spectator said something in the room (see [`ClientMsg::Chat`]): to everyone, or whispered to `to`
    /// (then only the sender and `to` get it). Show `text` as text, never as markup.
    Chat {
        /// Who said it.
        from: u32,
        /// Their name.
        name: String,
        /// What they said: control characters stripped, 1 to [`crate::MAX_CHAT_CHARS`] characters.
        text: String,
        /// The player it was whispered to; absent when said to the room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<u32>,
        /// The server's clock when it passed it on, in milliseconds since it started.
        server_time: f64,
    },
    /// The room the client asked for is on another node of the cluster, which holds a seat (or a
    /// spectator's place) for it: connect to `url` and say `hello` with this `ticket` (and the same
    /// name) to take it. The ticket is good once, for [`crate::HANDOFF_TICKET_SECS`] seconds; then
    /// the seat is given up. The connection to this node stays open until the client closes it.
    Handoff {
        /// The WebSocket address of the node that holds the seat, e.g. `wss://eu-2.example.com/ws`.
        url: String,
        /// The one-time ticket (32 hex digits).
        ticket: String,
        /// The code of the room the seat is in.
        room: String,
        /// The node's id, for messages (`"eu-2"`).
        node: String,
    },
    /// A message from the operators to every player on every node (`POST /api/announce`). Show
    /// `text` as text, never as markup.
    Notice {
        /// The message: 1 to [`crate::MAX_NOTICE_CHARS`] characters.
        text: String,
        /// The server's clock when it passed it on, in milliseconds since it started.
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
    /// lost connection: send it in the next `hello`.
    pub reconnect_token: String,
    /// Whether this connection took back a seat held for `hello.reconnect_token`; a `joined` for that
    /// room follows.
    pub resumed: bool,
    /// The movement and weapon rules, for client-side prediction.
    pub tuning: TuningInfo,
    /// How many ticks' inputs to send together: 1 = one [`ClientMsg::Input`] per tick; N > 1 = one
    /// [`ClientMsg::Inputs`] with N inputs every N ticks (fewer messages for the same inputs, at up to
    /// N − 1 ticks of extra input delay). At most [`crate::MAX_INPUTS_PER_MESSAGE`].
    pub input_batch: u8,
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
    /// The map being played.
    pub map: MapInfo,
    /// Everyone in the room at the moment of joining, including the client itself (but for a
    /// spectator, who is not a player).
    pub players: Vec<PlayerInfo>,
    /// The client watches the room (see [`ClientMsg::Watch`]): it has no ship, and what it sends but
    /// `leave`, `ping` and `chat` is ignored or refused.
    #[serde(default, skip_serializing_if = "is_false")]
    pub spectating: bool,
}

/// The map's static geometry, sent once on joining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapInfo {
    /// The map's name (its file name without `.toml`).
    pub name: String,
    /// The arena's size `[width, height]`; positions run from 0 to these.
    pub size: [f32; 2],
    /// Solid walls as `[x, y, width, height]` rectangles (x, y = top-left corner).
    pub walls: Vec<[f32; 4]>,
    /// Health pickup spots `[x, y]`; snapshots say which are available, by index.
    pub pickups: Vec<[f32; 2]>,
}

/// The rules the client needs to predict its own ship exactly as the server moves it. Sent in
/// [`Welcome`] so client and server can never disagree about them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TuningInfo {
    /// Ship collision radius.
    pub ship_radius: f32,
    /// Ship top speed, units per second.
    pub max_speed: f32,
    /// Acceleration toward the desired velocity, units per second squared.
    pub acceleration: f32,
    /// Deceleration with no movement input, units per second squared.
    pub friction: f32,
    /// A ship's full health.
    pub max_health: u16,
    /// Ticks between two shots.
    pub fire_cooldown_ticks: u16,
    /// Projectile speed, units per second.
    pub projectile_speed: f32,
    /// Projectile collision radius.
    pub projectile_radius: f32,
    /// Projectile lifetime, ticks.
    pub projectile_lifetime_ticks: u16,
    /// Ticks from death to respawn.
    pub respawn_ticks: u16,
    /// Pickup radius.
    pub pickup_radius: f32,
}

/// A player as listed in [`Joined`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerInfo {
    /// The player's id.
    pub id: u32,
    /// The player's display name.
    pub name: String,
    /// Away: their connection dropped and their seat is held for them (they have a score row but no
    /// ship until they come back, or a `leave` event says they will not). Left out when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub away: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Positions and velocities travel as integers in 1/[`POSITION_SCALE`] units (units per second for
/// velocities): 1/8 of a unit is far below what a screen shows, and small integers are 1 to 3 bytes in
/// MessagePack where a float is 5. The server keeps ship state on the same grid, so a client that rounds
/// the same way predicts exactly.
pub const POSITION_SCALE: f32 = 8.0;

/// The grid the server keeps [`Input::view_tick`] on: 1/256 of a tick (65 µs at 60 Hz, a fiftieth of
/// a unit for a ship at full speed), so that recorded matches store each view tick as a small step
/// from the one before instead of a float's noisy low bits. A power of two: the rounding is exact.
pub const VIEW_TICK_FRACTIONS: f64 = 256.0;

/// A view tick on the server's grid: rounded to the nearest 1/[`VIEW_TICK_FRACTIONS`] of a tick.
/// Applying it twice changes nothing; NaN, the infinities and values from 2^52 on (whole numbers
/// already, and too large to scale) stay as they are.
pub fn quantize_view_tick(view_tick: f64) -> f64 {
    if view_tick.abs() < 4_503_599_627_370_496.0 {
        (view_tick * VIEW_TICK_FRACTIONS).round() / VIEW_TICK_FRACTIONS
    } else {
        view_tick
    }
}

/// Aim angles travel as steps of a full turn (`4096` steps = 2π, about 0.09° each). A ship's aim is for
/// showing only (projectiles fly along the unrounded input aim, and a client shows its own ship with its
/// own aim), so this is far finer than needed, and a turn between two snapshots fits in one or two bytes.
pub const AIM_STEPS: f32 = 4096.0;

/// A coordinate or velocity component on the wire.
pub fn quantize(v: f32) -> i32 {
    let q = (v * POSITION_SCALE).round();
    if q.is_finite() { q.clamp(i32::MIN as f32, i32::MAX as f32) as i32 } else { 0 }
}

/// The value of a quantized coordinate or velocity component.
pub fn dequantize(q: i32) -> f32 {
    q as f32 / POSITION_SCALE
}

/// An angle on the wire.
pub fn quantize_aim(radians: f32) -> u16 {
    let turns = (radians / std::f32::consts::TAU).rem_euclid(1.0);
    ((turns * AIM_STEPS).round() as u32 % AIM_STEPS as u32) as u16
}

/// The angle (radians, 0..2π) of a quantized aim.
pub fn dequantize_aim(q: u16) -> f32 {
    f32::from(q) / AIM_STEPS * std::f32::consts::TAU
}

/// A match's phases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for a second player; free play, scores do not count.
    #[default]
    Warmup,
    /// A timed match is on.
    Playing,
    /// The match is over; the final scoreboard is shown until the next match starts.
    Results,
}

/// Things that happened, which clients show (kill feed, hit markers, banners). Sent reliably, in order,
/// as [`ServerMsg::Events`]; the same bytes go to everyone in the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum GameEvent {
    /// `killer` destroyed `victim`'s ship.
    Kill {
        /// The shooter.
        killer: u32,
        /// The destroyed ship's player.
        victim: u32,
    },
    /// A projectile hit a ship (and is gone).
    Hit {
        /// The shooter.
        shooter: u32,
        /// The ship hit.
        target: u32,
        /// Health taken.
        damage: u16,
        /// The projectile's id.
        shot: u32,
        /// The tick of the hit: the projectile flew during it up to the target, and is in no snapshot
        /// from this tick on (at most the events' tick; earlier when the hit came between snapshots).
        tick: u64,
    },
    /// The match entered a new phase.
    Phase {
        /// The new phase.
        phase: Phase,
        /// When it ends (0 = open-ended).
        ends_tick: u64,
    },
    /// A player joined the room.
    Join {
        /// The player.
        id: u32,
        /// Their name.
        name: String,
    },
    /// A player left the room (or their seat's reconnect grace ran out).
    Leave {
        /// The player.
        id: u32,
    },
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
    /// Nothing came from the client (not even a pong to the server's pings) for the server's idle
    /// timeout. Fatal.
    Idle,
    /// The room closed on an internal error. The client may join another.
    RoomClosed,
    /// A chat message that is empty or too long once cleaned, or whispered to nobody in the room. The
    /// message is dropped; the client may send another.
    BadChat,
    /// Chat messages came faster than [`crate::CHAT_BURST`] per [`crate::CHAT_WINDOW_SECS`] seconds; this
    /// one was dropped. Keeping on ends in [`ErrorCode::Flooding`].
    SlowDown,
    /// The hello's hand-off ticket is unknown, used or expired (the seat it held is given up). Not
    /// fatal: the client is welcomed but in no room, and may quick play.
    BadTicket,
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
                | Self::BadChat
                | Self::SlowDown
                | Self::BadTicket
        )
    }

    /// Whether a client closed with this fatal error should reconnect with its token: yes when the fault
    /// was the link's (it stalled, or went quiet), no when the client or the server made it (reconnecting
    /// would end the same way, or find no server).
    pub fn reconnect_may_help(self) -> bool {
        matches!(self, Self::TooSlow | Self::Idle)
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
            Self::Idle => "idle",
            Self::RoomClosed => "room_closed",
            Self::BadChat => "bad_chat",
            Self::SlowDown => "slow_down",
            Self::BadTicket => "bad_ticket",
        }
    }

    /// Every code, in declaration order (for tests and documentation).
    pub const ALL: [ErrorCode; 20] = [
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
        Self::Idle,
        Self::RoomClosed,
        Self::BadChat,
        Self::SlowDown,
        Self::BadTicket,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
