// The cluster's node list (src/nodes.ts): socket addresses compare as addresses; a draining node is left
// for the least loaded live one that is not the one being left and has room; the list is what the page's
// node says now, or what it said last when it does not answer.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { type NodeListing, NodeDirectory, pickNode, sameSocket } from "../src/nodes";

function node(id: string, port: number, extra: Partial<NodeListing> = {}): NodeListing {
  return {
    id,
    url: `http://127.0.0.1:${port}`,
    ws_url: `ws://127.0.0.1:${port}/ws`,
    players: 2,
    rooms: 1,
    capacity: 100,
    load: 0.02,
    draining: false,
    version: "0.1.0",
    ...extra,
  };
}

test("socket addresses are compared as addresses", () => {
  assert.ok(sameSocket("ws://127.0.0.1:8080/ws", "ws://127.0.0.1:8080/ws"));
  assert.ok(sameSocket("WS://Example.COM:8080/ws/", "ws://example.com:8080/ws"));
  assert.ok(sameSocket("wss://example.com:443/ws", "wss://example.com/ws"), "the default port");
  assert.ok(!sameSocket("ws://127.0.0.1:8080/ws", "ws://127.0.0.1:8081/ws"));
  assert.ok(!sameSocket("ws://example.com/ws", "wss://example.com/ws"));
});

test("a draining node is left for the least loaded other live node with room", () => {
  const leaving = "ws://127.0.0.1:1/ws";
  const nodes = [
    node("n1", 1, { load: 0 }),
    node("n2", 2, { load: 0.5 }),
    node("n3", 3, { load: 0.1, draining: true }),
    node("n4", 4, { load: 0.3 }),
    node("n5", 5, { load: 0.01, players: 100 }),
  ];
  assert.equal(pickNode(nodes, leaving)?.id, "n4");
  assert.equal(pickNode([node("n1", 1)], leaving), null, "no other node");
  assert.equal(pickNode([], leaving), null, "a single server lists none");
});

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Makes `/api/nodes` answer `nodes`, or fail to connect for null. */
function serve(nodes: unknown): void {
  globalThis.fetch = (async () => {
    if (nodes === null) throw new TypeError("fetch failed");
    return new Response(JSON.stringify(nodes), { headers: { "content-type": "application/json" } });
  }) as typeof fetch;
}

test("the list is the page's node's now, or the last one it gave when it does not answer", async () => {
  const dir = new NodeDirectory();
  serve([node("n1", 1), node("n2", 2)]);
  assert.deepEqual((await dir.current()).map((n) => n.id), ["n1", "n2"]);
  assert.equal(await dir.listed("ws://127.0.0.1:2/ws"), true);
  serve([node("n1", 1)]);
  assert.equal(await dir.listed("ws://127.0.0.1:2/ws"), false, "n2 is gone");
  serve(null);
  assert.equal(await dir.listed("ws://127.0.0.1:2/ws"), null, "the page's node cannot say");
  assert.deepEqual((await dir.current()).map((n) => n.id), ["n1"], "the last list");
  serve([{ id: "bad", ws_url: "javascript:alert(1)" }, node("n3", 3)]);
  assert.deepEqual((await dir.current()).map((n) => n.id), ["n3"], "only socket addresses are taken");
});
