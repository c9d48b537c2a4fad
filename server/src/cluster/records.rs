//! The wire between nodes: the Redis keys and channels of the directory, what is stored under them, and
//! the messages nodes send each other. `docs/cluster.md` describes the same for operators; a change here
//! changes that page.
//!
//! Everything is JSON, so an operator can read it with `redis-cli`.

use arena_protocol::{ErrorCode, Phase};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a node's and a room's records live unless refreshed: a node that dies (`kill -9`) is out
/// of every directory read this long after its last refresh.
pub(crate) const RECORD_TTL: Duration = Duration::from_secs(3);

/// How often a node writes its records and reads everyone else's.
pub(crate) const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// The set of node ids that have registered (members whose record expired are removed by readers).
pub(crate) const NODES_KEY: &str = "arena:nodes";

/// The channel every node listens on for operators' announcements.
pub(crate) const ANNOUNCE_CHANNEL: &str = "arena:announce";

/// A node's record: `arena:node:{id}`.
pub(crate) fn node_key(id: &str) -> String {
    format!("arena:node:{id}")
}

/// Which node owns a room code (a room, or a code it keeps ready for its next room):
/// `arena:room:{CODE}` → node id. Set with NX, so a code is never owned twice.
pub(crate) fn room_key(code: &str) -> String {
    format!("arena:room:{code}")
}

/// The channel a node hears seat requests and their replies on: `arena:inbox:{id}`.
pub(crate) fn inbox(id: &str) -> String {
    format!("arena:inbox:{id}")
}

/// What a node says of itself, refreshed every [`REFRESH_EVERY`] with a [`RECORD_TTL`] expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NodeRecord {
    /// The node's id (`--node-id`).
    pub(crate) id: String,
    /// Where browsers reach it (`http(s)://host:port`).
    pub(crate) url: String,
    /// Its game WebSocket (`ws(s)://host:port/ws`).
    pub(crate) ws_url: String,
    /// Players seated (held seats and reserved ones included).
    pub(crate) players: u32,
    /// Rooms open.
    pub(crate) room_count: u32,
    /// The most players it takes: the lesser of its connection limit and rooms × seats.
    pub(crate) capacity: u32,
    /// Whether it is shutting down: it takes no new rooms and no hand-offs.
    pub(crate) draining: bool,
    /// The server's version.
    pub(crate) version: String,
    /// Its public rooms (private ones are only in `arena:room:{CODE}`).
    pub(crate) rooms: Vec<RoomRecord>,
}

impl NodeRecord {
    /// Players per place: what placement compares.
    pub(crate) fn load(&self) -> f64 {
        f64::from(self.players) / f64::from(self.capacity.max(1))
    }
}

/// A public room in its node's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RoomRecord {
    /// The code.
    pub(crate) code: String,
    /// Seats taken, reserved or held.
    pub(crate) players: u16,
    /// Seats in all.
    pub(crate) capacity: u16,
    /// The match's phase.
    pub(crate) phase: Phase,
}

/// What one node asks another for, over the other's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Want {
    /// A seat in this room.
    Join {
        /// The room's code.
        code: String,
    },
    /// A spectator's place in this room.
    Watch {
        /// The room's code.
        code: String,
    },
    /// A seat in a new room.
    Create {
        /// Public (quick play) or private.
        public: bool,
    },
}

/// What a node grants: a seat held under a one-time ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Granted {
    /// The ticket (32 hex digits).
    pub(crate) ticket: String,
    /// The owner's game WebSocket.
    pub(crate) ws_url: String,
    /// The room's code.
    pub(crate) room: String,
    /// The owner's id.
    pub(crate) node: String,
    /// Whether the room is public.
    pub(crate) public: bool,
    /// The room's players now (the new seat included), so the asker's directory is right before the
    /// next refresh.
    pub(crate) room_players: u16,
    /// The room's seats.
    pub(crate) room_capacity: u16,
}

/// Why a node refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Refused {
    /// The protocol error the player gets.
    pub(crate) code: ErrorCode,
    /// Its message.
    pub(crate) message: String,
}

/// A message on a node's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Envelope {
    /// Reserve a seat for a player who reached node `from`.
    SeatRequest {
        /// Matches the reply to the request.
        id: u64,
        /// The asking node (the reply goes to its inbox).
        from: String,
        /// What is asked for.
        want: Want,
    },
    /// The answer to a [`Envelope::SeatRequest`].
    SeatReply {
        /// The request's id.
        id: u64,
        /// The seat, or why not.
        result: Result<Granted, Refused>,
    },
}

/// An operators' notice, on [`ANNOUNCE_CHANNEL`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Announcement {
    /// The text players see.
    pub(crate) text: String,
    /// The node that took the request.
    pub(crate) from: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_documented() {
        let request =
            Envelope::SeatRequest { id: 7, from: "eu-1".into(), want: Want::Join { code: "KQZTR".into() } };
        let json = serde_json::to_string(&request).expect("json");
        assert_eq!(
            json,
            r#"{"t":"seat_request","id":7,"from":"eu-1","want":{"kind":"join","code":"KQZTR"}}"#
        );
        let refused = Envelope::SeatReply {
            id: 7,
            result: Err(Refused { code: ErrorCode::RoomFull, message: "full".into() }),
        };
        let json = serde_json::to_string(&refused).expect("json");
        assert_eq!(
            json,
            r#"{"t":"seat_reply","id":7,"result":{"Err":{"code":"room_full","message":"full"}}}"#
        );
        assert_eq!(serde_json::from_str::<Envelope>(&json).expect("back"), refused);
    }
}
