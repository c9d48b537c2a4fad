//! The MessagePack codec: the only code that turns messages into bytes and back.
//!
//! Encoding writes structs as maps with field names (see [`crate::message`] for the shape). Decoding is
//! strict where it matters for a server facing the internet: a size limit checked before any parsing, no
//! trailing bytes, and an error that says what was wrong without echoing attacker-sized input.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{ClientMsg, ErrorCode, Input, InputBatch, MAX_CLIENT_MESSAGE_BYTES, ServerMsg, SnapshotFrame};

/// Why bytes did not decode into a message. Cheap to build: the hot path never allocates for it, and
/// the message text is cut to a bounded length.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The message is longer than [`MAX_CLIENT_MESSAGE_BYTES`].
    #[error("message is {len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The message's length.
        len: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// The message is a map whose `"t"` names no message type.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// The bytes are not MessagePack, or not of any message's shape.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A valid message was followed by more bytes.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
}

impl DecodeError {
    /// The protocol error code to report this with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::UnknownType(_) => ErrorCode::UnknownMessage,
            Self::Malformed(_) | Self::TrailingBytes(_) => ErrorCode::Malformed,
        }
    }
}

/// Why a message did not encode. Only a bug can cause it (every message type is serializable).
#[derive(Debug, Error)]
#[error("could not encode message: {0}")]
pub struct EncodeError(#[from] rmp_serde::encode::Error);

/// Encodes a message into a new buffer.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, EncodeError> {
    let mut buf = Vec::with_capacity(64);
    encode_into(msg, &mut buf)?;
    Ok(buf)
}

/// Encodes a message, appending to `buf`. Lets a hot path reuse one buffer.
pub fn encode_into<T: Serialize>(msg: &T, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut ser = rmp_serde::Serializer::new(buf).with_struct_map();
    msg.serialize(&mut ser)?;
    Ok(())
}

/// The longest error detail kept from the MessagePack decoder, in bytes.
const MAX_DETAIL: usize = 160;

/// Decodes one whole message. `bytes` must hold exactly one message; client messages over
/// [`MAX_CLIENT_MESSAGE_BYTES`] are refused before parsing (server messages may be larger: pass
/// `usize::MAX` as `limit` on the client side, via [`decode_with_limit`]).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_with_limit(bytes, MAX_CLIENT_MESSAGE_BYTES)
}

/// [`decode`] with an explicit size limit.
pub fn decode_with_limit<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge { len: bytes.len(), limit });
    }
    let mut rest = bytes;
    let mut de = rmp_serde::Deserializer::new(&mut rest);
    match T::deserialize(&mut de) {
        Ok(_) if !rest.is_empty() => Err(DecodeError::TrailingBytes(rest.len())),
        Ok(msg) => Ok(msg),
        Err(err) => Err(classify(bytes, err)),
    }
}

/// Just the `"t"` of a message (the other keys are skipped without being kept).
#[derive(Deserialize)]
struct Tagged<'a> {
    #[serde(borrow)]
    t: std::borrow::Cow<'a, str>,
}

/// Decodes a server message (no size limit), the same as [`decode_with_limit`] but quicker for
/// snapshots, the bulk of a client's traffic: serde decodes a tagged enum by first copying the whole
/// message into a tree of its own, so a snapshot is read straight into a [`SnapshotFrame`] instead.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
    match rmp_serde::from_slice::<Tagged<'_>>(bytes) {
        Ok(tag) if tag.t == "snapshot" => {
            decode_with_limit::<SnapshotFrame>(bytes, usize::MAX).map(ServerMsg::Snapshot)
        }
        _ => decode_with_limit(bytes, usize::MAX),
    }
}

/// Decodes a client message of at most `limit` bytes, the same as [`decode_with_limit`] but quicker
/// for inputs, the bulk of a server's traffic (see [`decode_server`] for why).
pub fn decode_client(bytes: &[u8], limit: usize) -> Result<ClientMsg, DecodeError> {
    if bytes.len() <= limit
        && let Ok(tag) = rmp_serde::from_slice::<Tagged<'_>>(bytes)
    {
        match &*tag.t {
            "input" => return decode_with_limit::<Input>(bytes, limit).map(ClientMsg::Input),
            "inputs" => return decode_with_limit::<InputBatch>(bytes, limit).map(ClientMsg::Inputs),
            _ => {}
        }
    }
    decode_with_limit(bytes, limit)
}

/// Tells an unknown message type from other malformed input. Runs on the error path only.
fn classify(bytes: &[u8], err: rmp_serde::decode::Error) -> DecodeError {
    let detail = err.to_string();
    if detail.contains("unknown variant")
        && let Ok(tagged) = rmp_serde::from_slice::<Tagged<'_>>(bytes)
    {
        return DecodeError::UnknownType(truncate(&tagged.t).to_owned());
    }
    DecodeError::Malformed(truncate(&detail).to_owned())
}

fn truncate(s: &str) -> &str {
    if s.len() <= MAX_DETAIL {
        return s;
    }
    let mut end = MAX_DETAIL;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;

    #[test]
    fn the_quick_server_decoder_agrees_with_the_general_one() {
        for (name, msg) in examples::server_messages() {
            let bytes = encode(&msg).expect("encode");
            assert_eq!(decode_server(&bytes), Ok(msg), "{name}");
            let mut extra = bytes.clone();
            extra.push(0xc0);
            assert_eq!(decode_server(&extra), Err(DecodeError::TrailingBytes(1)), "{name}");
            for cut in 0..bytes.len() {
                assert!(decode_server(&bytes[..cut]).is_err(), "{name} cut at {cut}");
            }
        }
    }

    #[test]
    fn the_quick_client_decoder_agrees_with_the_general_one() {
        for (name, msg) in examples::client_messages() {
            let bytes = encode(&msg).expect("encode");
            assert_eq!(decode_client(&bytes, MAX_CLIENT_MESSAGE_BYTES), Ok(msg), "{name}");
            assert_eq!(decode_client(&bytes, 3), Err(DecodeError::TooLarge { len: bytes.len(), limit: 3 }));
            for cut in 0..bytes.len() {
                assert!(
                    decode_client(&bytes[..cut], MAX_CLIENT_MESSAGE_BYTES).is_err(),
                    "{name} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn every_message_round_trips() {
        for (name, msg) in examples::client_messages() {
            let bytes = encode(&msg).expect("encode");
            let back: ClientMsg = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(back, msg, "{name}");
        }
        for (name, msg) in examples::server_messages() {
            let bytes = encode(&msg).expect("encode");
            let back: ServerMsg =
                decode_with_limit(&bytes, usize::MAX).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(back, msg, "{name}");
        }
    }

    #[test]
    fn an_input_batch_holds_one_to_the_limit() {
        let input = Input { seq: 1, movement: [0.0, 0.0], aim: 0.0, buttons: 0, view_tick: None };
        let batch = |n: usize| {
            let inputs: Vec<Input> = (0..n).map(|i| Input { seq: i as u32 + 1, ..input }).collect();
            encode(&serde_json::json!({ "t": "inputs", "inputs": inputs })).expect("encode")
        };
        for n in 1..=crate::MAX_INPUTS_PER_MESSAGE {
            match decode_client(&batch(n), MAX_CLIENT_MESSAGE_BYTES) {
                Ok(ClientMsg::Inputs(b)) => assert_eq!(b.inputs.as_slice().len(), n),
                other => panic!("{n} inputs: {other:?}"),
            }
        }
        for n in [0, crate::MAX_INPUTS_PER_MESSAGE + 1, 50] {
            let err = decode_client(&batch(n), MAX_CLIENT_MESSAGE_BYTES).expect_err("refused");
            assert_eq!(err.code(), ErrorCode::Malformed, "{n} inputs: {err}");
        }
    }

    #[test]
    fn garbage_is_malformed() {
        for bytes in [&b""[..], b"\xc1", b"\xff\xff\xff", b"hello", b"\x93\x01\x02\x03", b"\xc0"] {
            let err = decode::<ClientMsg>(bytes).expect_err("garbage decoded");
            assert_eq!(err.code(), ErrorCode::Malformed, "{bytes:?}: {err}");
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (name, msg) in examples::client_messages() {
            let bytes = encode(&msg).expect("encode");
            for cut in 0..bytes.len() {
                assert!(decode::<ClientMsg>(&bytes[..cut]).is_err(), "{name} cut at {cut} decoded");
            }
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&ClientMsg::Leave).expect("encode");
        bytes.push(0);
        assert_eq!(decode::<ClientMsg>(&bytes), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn unknown_type_is_named() {
        #[derive(Serialize)]
        struct Fake {
            t: &'static str,
        }
        let bytes = encode(&Fake { t: "teleport" }).expect("encode");
        assert_eq!(decode::<ClientMsg>(&bytes), Err(DecodeError::UnknownType("teleport".into())));
    }

    #[test]
    fn wrong_field_types_are_malformed() {
        #[derive(Serialize)]
        struct Fake {
            t: &'static str,
            version: &'static str,
            name: u32,
        }
        let bytes = encode(&Fake { t: "hello", version: "one", name: 3 }).expect("encode");
        let err = decode::<ClientMsg>(&bytes).expect_err("decoded");
        assert_eq!(err.code(), ErrorCode::Malformed);
    }

    #[test]
    fn oversized_is_refused_before_parsing() {
        let bytes = vec![0u8; MAX_CLIENT_MESSAGE_BYTES + 1];
        assert_eq!(
            decode::<ClientMsg>(&bytes),
            Err(DecodeError::TooLarge { len: MAX_CLIENT_MESSAGE_BYTES + 1, limit: MAX_CLIENT_MESSAGE_BYTES })
        );
    }

    #[test]
    fn long_details_are_cut() {
        let long = "é".repeat(200);
        assert!(truncate(&long).len() <= MAX_DETAIL);
    }
}
