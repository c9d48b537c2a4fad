//! Arena's wire protocol: every message that crosses the game WebSocket, and the one MessagePack codec
//! that turns them into bytes and back.
//!
//! The server, the bots and the tests all speak through this crate, so the wire format has exactly one
//! definition. `protocol/README.md` is the human-readable spec of the same thing; the golden fixtures in
//! `protocol/fixtures/` pin the exact bytes, and a test fails if they change without a [`PROTOCOL_VERSION`]
//! bump.
//!
//! # Layout
//! - [`message`]: the messages themselves ([`ClientMsg`], [`ServerMsg`]) and the records they carry.
//! - [`snapshot`]: room state ([`Snapshot`]) and its keyframe and delta encoding ([`SnapshotFrame`]),
//!   with the [`SnapshotDecoder`] clients rebuild it with.
//! - [`replay`]: the replay file format (one recorded match), its writer and reader.
//! - [`codec`]: [`encode`] / [`decode`] for both directions, the size limit, and [`DecodeError`].
//! - [`examples`]: one canonical example of every message, used for the golden fixtures and round-trip
//!   tests on both the Rust and the JS side.

pub mod codec;
pub mod examples;
pub mod message;
pub mod replay;
pub mod snapshot;

pub use codec::{DecodeError, EncodeError, decode, decode_client, decode_server, encode, encode_into};
pub use message::*;
pub use snapshot::{
    DeltaError, MatchState, ProjectileRecord, ProjectileState, ShipDelta, ShipState, Snapshot,
    SnapshotDecoder, SnapshotFrame,
};

/// The protocol version a client announces in [`ClientMsg::Hello`]. The server refuses any other with
/// [`ErrorCode::VersionMismatch`]. Bump it whenever a fixture in `protocol/fixtures/` changes.
pub const PROTOCOL_VERSION: u16 = 12;

/// The largest client message the server accepts, in bytes (one WebSocket message, after reassembly of
/// its frames). Inputs are ~40 bytes; anything near this limit is hostile or broken.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;

/// The most inputs one [`ClientMsg::Inputs`] message may carry; more is `malformed`. A server asks for
/// at most this many ticks per message ([`Welcome::input_batch`]).
pub const MAX_INPUTS_PER_MESSAGE: usize = 4;

/// The longest chat message, in characters, after cleaning ([`ClientMsg::Chat`]).
pub const MAX_CHAT_CHARS: usize = 200;

/// Chat messages a player may send in any [`CHAT_WINDOW_SECS`] seconds; more get
/// [`ErrorCode::SlowDown`].
pub const CHAT_BURST: usize = 5;

/// The window of [`CHAT_BURST`], seconds.
pub const CHAT_WINDOW_SECS: u64 = 10;

/// Chat messages refused with [`ErrorCode::SlowDown`] in a row before the connection is closed with
/// [`ErrorCode::Flooding`].
pub const CHAT_REFUSALS_BEFORE_FLOODING: usize = 5;

/// How long a [`ServerMsg::Handoff`] ticket holds its seat, in seconds.
pub const HANDOFF_TICKET_SECS: u64 = 15;

/// The longest operators' notice, in characters ([`ServerMsg::Notice`]).
pub const MAX_NOTICE_CHARS: usize = 500;

/// The longest player name, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 24;

/// The length of a private room code.
pub const ROOM_CODE_LEN: usize = 5;

/// The letters room codes are made of: upper case, without the ones people confuse (I, L, O, and no
/// digits at all, so 0/O and 1/I cannot be mixed up when a code is read aloud).
pub const ROOM_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ";
