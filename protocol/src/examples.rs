//! One canonical example of every message. The golden fixtures in `protocol/fixtures/` are these
//! examples encoded; the Rust and JS tests decode the fixture files and compare with them.

use crate::{
    ClientMsg, ErrorCode, GameEvent, Input, InputBatch, Joined, MapInfo, MatchState, PROTOCOL_VERSION, Phase,
    PlayerInfo, ProjectileState, ServerMsg, ShipState, Snapshot, SnapshotFrame, TuningInfo, Welcome,
};

/// Every client message, with the fixture name it is stored under (`client_<name>.msgpack`).
pub fn client_messages() -> Vec<(&'static str, ClientMsg)> {
    vec![
        (
            "hello",
            ClientMsg::Hello {
                version: PROTOCOL_VERSION,
                name: "Ada".into(),
                reconnect_token: None,
                ticket: None,
            },
        ),
        (
            "hello_reconnect",
            ClientMsg::Hello {
                version: PROTOCOL_VERSION,
                name: "Ada".into(),
                reconnect_token: Some("00112233445566778899aabbccddeeff".into()),
                ticket: None,
            },
        ),
        (
            "hello_ticket",
            ClientMsg::Hello {
                version: PROTOCOL_VERSION,
                name: "Ada".into(),
                reconnect_token: None,
                ticket: Some("ffeeddccbbaa99887766554433221100".into()),
            },
        ),
        ("quick_play", ClientMsg::QuickPlay),
        ("create_room", ClientMsg::CreateRoom),
        ("join_room", ClientMsg::JoinRoom { code: "KQZTR".into() }),
        (
            "input",
            ClientMsg::Input(Input {
                seq: 42,
                movement: [1.0, -0.5],
                aim: 1.5,
                buttons: 1,
                view_tick: Some(1228.5),
            }),
        ),
        (
            "inputs",
            ClientMsg::Inputs(InputBatch {
                inputs: [
                    Input { seq: 43, movement: [1.0, -0.5], aim: 1.5, buttons: 1, view_tick: Some(1228.75) },
                    Input { seq: 44, movement: [0.0, 1.0], aim: -0.25, buttons: 0, view_tick: None },
                ]
                .into_iter()
                .collect(),
            }),
        ),
        ("ping", ClientMsg::Ping { client_time: 12345.5 }),
        ("leave", ClientMsg::Leave),
        ("watch", ClientMsg::Watch { code: "KQZTR".into() }),
        ("chat", ClientMsg::Chat { text: "gg, one more?".into(), to: None }),
        ("chat_whisper", ClientMsg::Chat { text: "left side".into(), to: Some(9) }),
    ]
}

/// The tick rate of the examples' server.
pub const TICK_RATE: u16 = 60;

/// Two snapshots of one room, two ticks apart: the `snapshot` fixture is the first as a keyframe, the
/// `snapshot_delta` fixture the second as a delta against the first. Between them ship 3 moved on
/// (exactly as its velocity says), turned and had two inputs applied; ship 7's respawn counted down;
/// player 9 joined; ship 3 fired projectile 13; pickup 1 came back. The second's scores are empty
/// (unchanged), as the server sends them between changes.
pub fn snapshots() -> (Snapshot, Snapshot) {
    let ship3 = ShipState {
        id: 3,
        x: 804,
        y: 1602,
        vx: -240,
        vy: 0,
        aim: 1956,
        health: 75,
        respawn_ticks: 0,
        ack: 1200,
    };
    let ship7 =
        ShipState { id: 7, x: 6400, y: 4000, vx: 0, vy: 0, aim: 3072, health: 0, respawn_ticks: 90, ack: 41 };
    let shot12 = ProjectileState {
        id: 12,
        owner: 3,
        seq: 1198,
        tick: 1234,
        x: 1200,
        y: 1600,
        vx: 7200,
        vy: 0,
        end_tick: 1274,
    };
    let first = Snapshot {
        tick: 1234,
        ships: vec![ship3, ship7],
        projectiles: vec![shot12],
        pickups: 0b01,
        match_state: MatchState { phase: Phase::Playing, ends_tick: 9000 },
        scores: vec![[3, 4, 1], [7, 1, 4]],
    };
    let second = Snapshot {
        tick: 1236,
        ships: vec![
            ShipState { x: 796, aim: 1963, ack: 1202, ..ship3 },
            ShipState { respawn_ticks: 88, ..ship7 },
            ShipState { id: 9, x: 800, y: 800, vx: 0, vy: 0, aim: 0, health: 100, respawn_ticks: 0, ack: 0 },
        ],
        projectiles: vec![
            ProjectileState { tick: 1236, x: 1440, ..shot12 },
            ProjectileState {
                id: 13,
                owner: 3,
                seq: 1202,
                tick: 1236,
                x: 796,
                y: 1602,
                vx: -7197,
                vy: 207,
                end_tick: 1326,
            },
        ],
        pickups: 0b11,
        match_state: first.match_state,
        scores: Vec::new(),
    };
    (first, second)
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
    let (first, second) = snapshots();
    let mut keyframe = SnapshotFrame::default();
    keyframe.keyframe(&first);
    let mut delta = SnapshotFrame::default();
    assert!(delta.delta(&first, &second, TICK_RATE), "the examples are two ticks apart");
    vec![
        (
            "welcome",
            ServerMsg::Welcome(Welcome {
                player_id: 7,
                version: PROTOCOL_VERSION,
                tick_rate: TICK_RATE,
                snapshot_rate: 30,
                server_time: 1500.25,
                reconnect_token: "00112233445566778899aabbccddeeff".into(),
                resumed: false,
                tuning: tuning(),
                input_batch: 2,
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
                    PlayerInfo { id: 3, name: "Grace".into(), away: false },
                    PlayerInfo { id: 7, name: "Ada".into(), away: false },
                    PlayerInfo { id: 9, name: "Linus".into(), away: true },
                ],
                spectating: false,
            }),
        ),
        (
            "joined_spectating",
            ServerMsg::Joined(Joined {
                room: "KQZTR".into(),
                public: true,
                capacity: 16,
                map: MapInfo { name: "duel".into(), size: [1600.0, 1000.0], walls: vec![], pickups: vec![] },
                players: vec![PlayerInfo { id: 3, name: "Grace".into(), away: false }],
                spectating: true,
            }),
        ),
        ("left", ServerMsg::Left),
        ("snapshot", ServerMsg::Snapshot(keyframe)),
        ("snapshot_delta", ServerMsg::Snapshot(delta)),
        (
            "events",
            ServerMsg::Events {
                tick: 1234,
                events: vec![
                    GameEvent::Hit { shooter: 3, target: 7, damage: 25, shot: 11, tick: 1233 },
                    GameEvent::Kill { killer: 3, victim: 7 },
                    GameEvent::Phase { phase: Phase::Results, ends_tick: 1834 },
                    GameEvent::Join { id: 9, name: "Linus".into() },
                    GameEvent::Leave { id: 9 },
                ],
            },
        ),
        ("pong", ServerMsg::Pong { client_time: 12345.5, server_time: 1510.0 }),
        (
            "handoff",
            ServerMsg::Handoff {
                url: "ws://10.0.0.2:8080/ws".into(),
                ticket: "ffeeddccbbaa99887766554433221100".into(),
                room: "KQZTR".into(),
                node: "eu-2".into(),
            },
        ),
        ("notice", ServerMsg::Notice { text: "Restarting eu-1 in 5 minutes".into(), server_time: 1530.0 }),
        ("replay", ServerMsg::Replay { id: "20261206-153000-kqztrabc".into() }),
        (
            "chat",
            ServerMsg::Chat {
                from: 3,
                name: "Grace".into(),
                text: "gg, one more?".into(),
                to: None,
                server_time: 1520.5,
            },
        ),
        (
            "chat_whisper",
            ServerMsg::Chat {
                from: 3,
                name: "Grace".into(),
                text: "left side".into(),
                to: Some(9),
                server_time: 1521.0,
            },
        ),
        (
            "error",
            ServerMsg::Error { code: ErrorCode::RoomFull, message: "room KQZTR is full (16 of 16)".into() },
        ),
    ]
}

/// A small replay: a header, a chunk with a keyframe, a delta, events and the calls of two ticks, and
/// the end. The golden fixture `fixtures/replay.arena-replay` is these bytes.
pub fn replay() -> crate::replay::Replay {
    use crate::replay::{End, EndReason, FinalScore, GameSources, Header, Op, Record, Replay};
    let messages = server_messages();
    let message = |name: &str| {
        let msg = messages.iter().find(|(n, _)| *n == name).map(|(_, m)| m);
        msg.and_then(|m| crate::encode(m).ok()).unwrap_or_default()
    };
    let Some((_, ServerMsg::Joined(joined))) = messages.iter().find(|(n, _)| *n == "joined") else {
        unreachable!("the examples have a joined message")
    };
    let input = Input { seq: 7, movement: [1.0, 0.0], aim: 0.25, buttons: 1, view_tick: Some(1232.5) };
    Replay {
        header: Header {
            format: crate::replay::FORMAT_VERSION,
            protocol: PROTOCOL_VERSION,
            server_version: "0.1.0".into(),
            id: "20261202-211500-k3xq9mzt".into(),
            room: "KQZTR".into(),
            public: true,
            started_at_ms: 1_796_246_100_000,
            tick_rate: 60,
            snapshot_rate: 30,
            max_rewind_us: 350_000,
            seed: 99,
            start_tick: 1230,
            keyframe_every: 150,
            map: joined.map.clone(),
            tuning: tuning(),
            game_data: GameSources {
                tuning_toml: "# tuning.toml\n".into(),
                map_toml: "# maps/crossroads.toml\n".into(),
            },
            players: joined.players.clone(),
            state: vec![0x90],
        },
        // Player 3's inputs change a little at a time, as they do (the input block codes each against
        // the one before in its chunk): a diagonal, an aim, whole and fractional view ticks, -0.0; 7
        // skips a sequence number and starts drawing the past; the second chunk starts afresh.
        records: vec![
            Record::Tick {
                tick: 1231,
                ops: vec![
                    Op::Join { player: 9, name: "Linus".into(), resume_after: Some(3) },
                    Op::Input { player: 3, input },
                    Op::Input { player: 7, input: Input { view_tick: None, ..input } },
                ],
            },
            Record::Tick {
                tick: 1232,
                ops: vec![
                    Op::Input {
                        player: 3,
                        input: Input {
                            seq: 8,
                            movement: [0.707_106_77, -0.707_106_77],
                            aim: 0.3125,
                            view_tick: Some(1233.5),
                            ..input
                        },
                    },
                    Op::Despawn { player: 9 },
                    Op::Leave { player: 9 },
                    Op::Input {
                        player: 7,
                        input: Input { seq: 9, buttons: 0, view_tick: Some(1231.0), ..input },
                    },
                ],
            },
            Record::Tick {
                tick: 1233,
                ops: vec![
                    // Off the server's 1/256 grid (a file may hold any f64): a step in ordered bits.
                    Op::Input {
                        player: 7,
                        input: Input { seq: 10, buttons: 0, view_tick: Some(1231.7), ..input },
                    },
                    Op::Input {
                        player: 3,
                        input: Input {
                            seq: 9,
                            movement: [-0.0, 1.0],
                            aim: -1.5,
                            buttons: 0,
                            view_tick: Some(1233.8125),
                        },
                    },
                ],
            },
            Record::Snapshot { tick: 1234, keyframe: true, bytes: message("snapshot") },
            Record::Tick {
                tick: 1235,
                ops: vec![Op::Input { player: 3, input: Input { seq: 10, ..input } }],
            },
            Record::Events { tick: 1236, bytes: message("events") },
            Record::Snapshot { tick: 1236, keyframe: false, bytes: message("snapshot_delta") },
            Record::End(End {
                tick: 1240,
                reason: EndReason::Finished,
                players: vec![
                    FinalScore { id: 3, name: "Grace".into(), kills: 1, deaths: 0 },
                    FinalScore { id: 7, name: "Ada".into(), kills: 0, deaths: 1 },
                ],
                kills: 1,
            }),
        ],
    }
}
