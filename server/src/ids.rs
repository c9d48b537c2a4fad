//! The server's identifiers as types, so none can be mixed up with another or with a count, and none
//! has a magic value meaning "none" (an `Option` says that).
//!
//! On the wire they are plain numbers and strings (see `protocol/README.md`); the conversions live here.

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};

use arena_protocol::{ROOM_CODE_ALPHABET, ROOM_CODE_LEN};
use rand::Rng;

/// A player, unique across the server for as long as it runs (a reconnect keeps it). Never 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlayerId(NonZeroU32);

impl PlayerId {
    /// The id of the `n`th player (`n` from 1), or `None` for 0.
    pub fn new(n: u32) -> Option<Self> {
        NonZeroU32::new(n).map(Self)
    }

    /// The id as the protocol carries it.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for PlayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One stay of a connection in a room: everything a room sends is tagged with it, and dropped once the
/// connection has moved on, so nothing of a room the player left can reach it later. Never 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Membership(NonZeroU64);

impl Membership {
    /// The `n`th membership (`n` from 1), or `None` for 0.
    pub fn new(n: u64) -> Option<Self> {
        NonZeroU64::new(n).map(Self)
    }
}

/// A room's code: [`ROOM_CODE_LEN`] letters of [`ROOM_CODE_ALPHABET`], upper case. A `Copy` value, so a
/// map of rooms hashes it without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomCode([u8; ROOM_CODE_LEN]);

impl RoomCode {
    /// The code a client typed, in canonical form (trimmed, upper case), or `None` if the server could
    /// never have issued it.
    pub fn parse(code: &str) -> Option<Self> {
        let code = code.trim().as_bytes();
        let mut out = [0u8; ROOM_CODE_LEN];
        if code.len() != ROOM_CODE_LEN {
            return None;
        }
        for (slot, byte) in out.iter_mut().zip(code) {
            let upper = byte.to_ascii_uppercase();
            if !ROOM_CODE_ALPHABET.contains(&upper) {
                return None;
            }
            *slot = upper;
        }
        Some(Self(out))
    }

    /// A random code.
    pub fn random(rng: &mut impl Rng) -> Self {
        Self(std::array::from_fn(|_| ROOM_CODE_ALPHABET[rng.random_range(0..ROOM_CODE_ALPHABET.len())]))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only alphabet letters (ASCII) ever get in.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomCode({})", self.as_str())
    }
}

impl serde::Serialize for RoomCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The secret that takes a dropped player's seat back: 128 bits from the operating system's CSPRNG
/// (through `rand`'s thread generator), 32 lower-case hex digits on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReconnectToken(u128);

/// Hex digits in a token on the wire.
const TOKEN_HEX_DIGITS: usize = 32;

impl ReconnectToken {
    /// A new random token.
    pub fn random() -> Self {
        Self(rand::rng().random())
    }

    /// A token as a client sent it, or `None` if it cannot be one.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.len() == TOKEN_HEX_DIGITS && text.bytes().all(|b| b.is_ascii_hexdigit());
        hex.then(|| u128::from_str_radix(text, 16).ok()).flatten().map(Self)
    }
}

impl fmt::Display for ReconnectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for ReconnectToken {
    /// Never printed: a token in a log would let a reader take the seat.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReconnectToken(..)")
    }
}

/// A hand-off ticket: the one-time secret that takes a seat another node reserved here for a player
/// (see `ServerMsg::Handoff`). Made and read like a [`ReconnectToken`]; never logged.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(ReconnectToken);

impl Ticket {
    /// A new random ticket.
    pub fn random() -> Self {
        Self(ReconnectToken::random())
    }

    /// A ticket as a client sent it, or `None` if it cannot be one.
    pub fn parse(text: &str) -> Option<Self> {
        ReconnectToken::parse(text).map(Self)
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_codes_are_normalized_and_checked() {
        assert_eq!(RoomCode::parse(" kqztr ").map(|c| c.to_string()), Some("KQZTR".into()));
        for bad in ["", "ab", "ABCDEF", "AB1!?", "KQZT0", "KQZTI", "KQZTÉ"] {
            assert_eq!(RoomCode::parse(bad), None, "{bad:?}");
        }
        let mut rng = rand::rng();
        for _ in 0..100 {
            let code = RoomCode::random(&mut rng);
            assert_eq!(RoomCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_what_is_not_one() {
        let token = ReconnectToken::random();
        assert_eq!(ReconnectToken::parse(&token.to_string()), Some(token));
        assert_eq!(token.to_string().len(), TOKEN_HEX_DIGITS);
        for bad in ["", "abc", &"g".repeat(32), &"0".repeat(33), &format!("+{}", "0".repeat(31))] {
            assert_eq!(ReconnectToken::parse(bad), None, "{bad:?}");
        }
        assert_eq!(format!("{token:?}"), "ReconnectToken(..)");
    }

    #[test]
    fn ids_are_never_zero() {
        assert_eq!(PlayerId::new(0), None);
        assert_eq!(PlayerId::new(7).map(PlayerId::get), Some(7));
        assert_eq!(Membership::new(0), None);
    }
}
