//! Property tests: whatever bytes arrive, decoding never panics; whatever a client can send, it
//! survives an encode/decode round trip unchanged.

use arena_protocol::{ClientMsg, Input, MAX_CLIENT_MESSAGE_BYTES, decode, decode_client, encode};
use proptest::prelude::*;

fn input() -> impl Strategy<Value = Input> {
    (any::<u32>(), any::<[f32; 2]>(), any::<f32>(), any::<u8>(), proptest::option::of(any::<f64>()))
        .prop_map(|(seq, movement, aim, buttons, view_tick)| Input { seq, movement, aim, buttons, view_tick })
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (any::<u16>(), ".{0,40}", proptest::option::of("[0-9a-f]{0,40}")).prop_map(
            |(version, name, reconnect_token)| ClientMsg::Hello {
                version,
                name,
                reconnect_token,
                ticket: None
            }
        ),
        Just(ClientMsg::QuickPlay),
        Just(ClientMsg::CreateRoom),
        ".{0,12}".prop_map(|code| ClientMsg::JoinRoom { code }),
        input().prop_map(ClientMsg::Input),
        proptest::collection::vec(input(), 1..=arena_protocol::MAX_INPUTS_PER_MESSAGE).prop_map(|inputs| {
            ClientMsg::Inputs(arena_protocol::InputBatch { inputs: inputs.into_iter().collect() })
        }),
        any::<f64>().prop_map(|client_time| ClientMsg::Ping { client_time }),
        Just(ClientMsg::Leave),
    ]
}

/// A decode result as a client would see it: the message, or the error code it is closed with (the
/// wording of details may differ between decoding paths).
fn outcome(
    result: Result<ClientMsg, arena_protocol::DecodeError>,
) -> Result<String, arena_protocol::ErrorCode> {
    result.map(|msg| format!("{msg:?}")).map_err(|err| err.code())
}

proptest! {
    #[test]
    fn the_quick_client_decoder_agrees_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert_eq!(outcome(decode::<ClientMsg>(&bytes)), outcome(decode_client(&bytes, MAX_CLIENT_MESSAGE_BYTES)));
    }

    #[test]
    fn the_quick_client_decoder_agrees_on_inputs_with_anything_added(
        input in input(), extra in proptest::collection::vec(any::<u8>(), 0..8)
    ) {
        let mut bytes = encode(&ClientMsg::Input(input)).expect("encode");
        bytes.extend_from_slice(&extra);
        prop_assert_eq!(outcome(decode::<ClientMsg>(&bytes)), outcome(decode_client(&bytes, MAX_CLIENT_MESSAGE_BYTES)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(msg) = decode::<ClientMsg>(&bytes) {
            let again: ClientMsg = decode(&encode(&msg).expect("encode")).expect("re-decode");
            prop_assert_eq!(format!("{msg:?}"), format!("{again:?}"));
        }
    }

    #[test]
    fn client_messages_round_trip(msg in client_msg()) {
        let bytes = encode(&msg).expect("encode");
        prop_assert!(bytes.len() <= MAX_CLIENT_MESSAGE_BYTES);
        let back: ClientMsg = decode(&bytes).expect("decode");
        // Debug compares NaN payloads as equal where PartialEq would not.
        prop_assert_eq!(format!("{msg:?}"), format!("{back:?}"));
    }

    #[test]
    fn a_valid_message_with_a_byte_flipped_never_panics(msg in client_msg(), at in any::<usize>(), bit in 0u8..8) {
        let mut bytes = encode(&msg).expect("encode");
        let i = at % bytes.len();
        bytes[i] ^= 1 << bit;
        let _ = decode::<ClientMsg>(&bytes);
    }
}
