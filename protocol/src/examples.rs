//! One canonical example of every message. The golden fixtures in `protocol/fixtures/` are these
//! examples encoded; the Rust and JS tests decode the fixture files and compare with them.

use crate::{
    ClientMsg, EntityKind, EntityState, ErrorCode, Input, Joined, PROTOCOL_VERSION, PlayerInfo, ServerMsg,
    Snapshot, Welcome,
};

/// Every client message, with the fixture name it is stored under (`client_<name>.msgpack`).
pub fn client_messages() -> Vec<(&'static str, ClientMsg)> {
    vec![
        ("hello", ClientMsg::Hello { version: PROTOCOL_VERSION, name: "Ada".into() }),
        ("quick_play", ClientMsg::QuickPlay),
        ("create_room", ClientMsg::CreateRoom),
        ("join_room", ClientMsg::JoinRoom { code: "KQZTR".into() }),
        ("input", ClientMsg::Input(Input { seq: 42, movement: [1.0, -0.5], aim: 1.5, buttons: 1 })),
        ("ping", ClientMsg::Ping { client_time: 12345.5 }),
        ("leave", ClientMsg::Leave),
    ]
}

/// Every server message, with the fixture name it is stored under (`server_<name>.msgpack`).
pub fn server_messages() -> Vec<(&'static str, ServerMsg)> {
    vec![
        (
            "welcome",
            ServerMsg::Welcome(Welcome {
                player_id: 7,
                version: PROTOCOL_VERSION,
                tick_rate: 60,
                snapshot_rate: 30,
                server_time: 1500.25,
                reconnect_token: "00112233445566778899aabbccddeeff".into(),
            }),
        ),
        (
            "joined",
            ServerMsg::Joined(Joined {
                room: "KQZTR".into(),
                public: false,
                capacity: 16,
                arena: [1600.0, 1000.0],
                players: vec![
                    PlayerInfo { id: 3, name: "Grace".into() },
                    PlayerInfo { id: 7, name: "Ada".into() },
                ],
            }),
        ),
        ("left", ServerMsg::Left),
        (
            "snapshot",
            ServerMsg::Snapshot(Snapshot {
                tick: 1234,
                acks: vec![[3, 1200], [7, 41]],
                entities: vec![
                    EntityState {
                        id: 3,
                        kind: EntityKind::Ship,
                        pos: [100.5, 200.25],
                        vel: [-30.0, 0.0],
                        aim: 3.0,
                    },
                    EntityState {
                        id: 7,
                        kind: EntityKind::Ship,
                        pos: [800.0, 500.0],
                        vel: [0.0, 120.0],
                        aim: -1.5,
                    },
                ],
            }),
        ),
        ("pong", ServerMsg::Pong { client_time: 12345.5, server_time: 1510.0 }),
        (
            "error",
            ServerMsg::Error { code: ErrorCode::RoomFull, message: "room KQZTR is full (16 of 16)".into() },
        ),
    ]
}
