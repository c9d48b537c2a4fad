//! Fuzzes what the server does with bytes from a client: decode them as a `ClientMsg` (with the size
//! limit, by the server's quick path, which must agree with the general decoder), re-encode anything
//! accepted and check it decodes the same, then hand the message's contents to the code that consumes
//! them: name validation, room-code parsing, and (for inputs) a live simulation.
#![no_main]

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use arena_protocol::{ClientMsg, MAX_CLIENT_MESSAGE_BYTES, decode, decode_client, encode};
use arena_server::GameData;
use arena_server::sim::{ShipEntity, Simulation};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static SIM: RefCell<(Simulation, ShipEntity)> = RefCell::new(new_sim());
}

fn new_sim() -> (Simulation, ShipEntity) {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets");
    let game = Arc::new(GameData::load(&assets, "crossroads").expect("assets"));
    let mut sim = Simulation::new(game, 60, 1);
    let a = sim.add_player(1);
    sim.add_player(2);
    (sim, a)
}

fuzz_target!(|data: &[u8]| {
    let quick = decode_client(data, MAX_CLIENT_MESSAGE_BYTES);
    let general = decode::<ClientMsg>(data);
    match (&quick, &general) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
        _ => panic!("the decoders disagree: {quick:?} / {general:?}"),
    }
    let Ok(msg) = quick else { return };
    let bytes = encode(&msg).expect("an accepted message re-encodes");
    let again: ClientMsg = decode(&bytes).expect("a re-encoded message decodes");
    // Debug output compares NaNs as equal, unlike PartialEq.
    assert_eq!(format!("{msg:?}"), format!("{again:?}"));
    match msg {
        ClientMsg::Hello { name, .. } => {
            let _ = arena_server::validate_name(&name);
        }
        ClientMsg::JoinRoom { code } => {
            let _ = arena_server::ids::RoomCode::parse(&code);
        }
        ClientMsg::Input(input) => SIM.with(|cell| {
            let (sim, ship) = &mut *cell.borrow_mut();
            sim.push_input(*ship, input);
            sim.step();
        }),
        ClientMsg::Inputs(batch) => SIM.with(|cell| {
            let (sim, ship) = &mut *cell.borrow_mut();
            for &input in batch.inputs.as_slice() {
                sim.push_input(*ship, input);
            }
            sim.step();
        }),
        _ => {}
    }
});
