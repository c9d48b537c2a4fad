//! One canonical example of every message. The golden fixtures in `protocol/fixtures/` are these
//! examples encoded; the Rust and JS tests decode the fixture files and compare with them.

use crate::{
    ClientMsg, ErrorCode, GameEvent, Input, Joined, MapInfo, MatchState, PROTOCOL_VERSION, Phase, PlayerInfo,
    ProjectileState, ServerMsg, ShipState, Snapshot, TuningInfo, Welcome,
};

/// Every client message, with the fixture name it is stored under (`client_<name>.msgpack`).
pub fn client_messages() -> Vec<(&'static str, ClientMsg)> {
    vec![
        ("hello", ClientMsg::Hello { version: PROTOCOL_VERSION, name: "Ada".into(), reconnect_token: None }),
        (
            "hello_reconnect",
            ClientMsg::Hello {
                version: PROTOCOL_VERSION,
                name: "Ada".into(),
                reconnect_token: Some("00112233445566778899aabbccddeeff".into()),
            },
        ),
        ("quick_play", ClientMsg::QuickPlay),
        ("create_room", ClientMsg::CreateRoom),
        ("join_room", ClientMsg::JoinRoom { code: "KQZTR".into() }),
        ("input", ClientMsg::Input(Input { seq: 42, movement: [1.0, -0.5], aim: 1.5, buttons: 1 })),
        ("ping", ClientMsg::Ping { client_time: 12345.5 }),
        ("leave", ClientMsg::Leave),
    ]
}

/// The tuning used in the examples.
pub fn tuning() -> TuningInfo {
    TuningInfo {
        ship_radius: 20.0,
        max_speed: 320.0,
        acceleration: 1600.0,
        friction: 1000.0,
        max_health: 100,
        fire_cooldown_ticks: 15,
        projectile_speed: 900.0,
        projectile_radius: 5.0,
        projectile_lifetime_ticks: 90,
        respawn_ticks: 180,
        pickup_radius: 24.0,
    }
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
                resumed: false,
                tuning: tuning(),
            }),
        ),
        (
            "joined",
            ServerMsg::Joined(Joined {
                room: "KQZTR".into(),
                public: false,
                capacity: 16,
                map: MapInfo {
                    name: "crossroads".into(),
                    size: [1600.0, 1000.0],
                    walls: vec![[700.0, 450.0, 200.0, 100.0]],
                    pickups: vec![[800.0, 200.0], [800.0, 800.0]],
                },
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
                ships: vec![
                    ShipState {
                        id: 3,
                        x: 804,
                        y: 1602,
                        vx: -240,
                        vy: 0,
                        aim: 31291,
                        health: 75,
                        respawn_ticks: 0,
                        ack: 1200,
                    },
                    ShipState {
                        id: 7,
                        x: 6400,
                        y: 4000,
                        vx: 0,
                        vy: 0,
                        aim: 49152,
                        health: 0,
                        respawn_ticks: 90,
                        ack: 41,
                    },
                ],
                projectiles: vec![ProjectileState {
                    id: 12,
                    owner: 3,
                    seq: 1198,
                    x: 1200,
                    y: 1600,
                    vx: 7200,
                    vy: 0,
                }],
                pickups: 0b01,
                match_state: MatchState { phase: Phase::Playing, ends_tick: 9000 },
                scores: vec![[3, 4, 1], [7, 1, 4]],
            }),
        ),
        (
            "events",
            ServerMsg::Events {
                tick: 1234,
                events: vec![
                    GameEvent::Hit { shooter: 3, target: 7, damage: 25 },
                    GameEvent::Kill { killer: 3, victim: 7 },
                    GameEvent::Phase { phase: Phase::Results, ends_tick: 1834 },
                    GameEvent::Join { id: 9, name: "Linus".into() },
                    GameEvent::Leave { id: 9 },
                ],
            },
        ),
        ("pong", ServerMsg::Pong { client_time: 12345.5, server_time: 1510.0 }),
        (
            "error",
            ServerMsg::Error { code: ErrorCode::RoomFull, message: "room KQZTR is full (16 of 16)".into() },
        ),
    ]
}
