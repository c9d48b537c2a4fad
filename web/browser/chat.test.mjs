// Chat in real Chromium: A, B and D share a room, C is in another. A line A types reaches A, B and D and
// not C; typing does not move A's ship; a whisper from A reaches B and not D; a line that looks like
// markup shows as the characters it is and runs nothing; join lines are in the same log.
import assert from "node:assert/strict";
import { test } from "node:test";
import { join } from "node:path";
import { duelAssets, openPage, saveDir, serverAndBrowser, state, waitFor } from "./harness.mjs";

const env = serverAndBrowser(["--assets", duelAssets(), "--map", "duel"]);

/** A player named `name` who creates a private room, or joins `room` by its code. */
async function player(name, room) {
  const p = await openPage(env.browser, `${env.server.url}/`);
  const dialogs = [];
  p.page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await p.page.fill("#name", name);
  if (room) {
    await p.page.fill("#join-code", room);
    await p.page.click("#join-form button");
  } else {
    await p.page.click("#create-room");
  }
  await waitFor(p.page, (s) => s.room && (!room || s.room === room) && s.me, `${name} in a room`, 15_000);
  return { ...p, dialogs };
}

/** Types a line into the chat box the way a player does: Enter, the text, Enter. */
async function chat(page, text) {
  await page.keyboard.press("Enter");
  await waitFor(page, (s) => s.chatOpen, "the chat box open");
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
  await waitFor(page, (s) => !s.chatOpen, "the chat box closed");
}

const said = (s, text) => s.chat.some((l) => l.text.endsWith(text));

test("a line reaches its room only, a whisper its target only, and markup stays text", async () => {
  const a = await player("Ada");
  const room = (await state(a.page)).room;
  const b = await player("Grace", room);
  const d = await player("Linus", room);
  const c = await player("Carol");
  assert.notEqual((await state(c.page)).room, room);
  await waitFor(a.page, (s) => s.chat.some((l) => l.kind === "system" && l.text === "Linus joined"), "the join line in A's log");

  // Typing "wwwwdddd" in the box must not move A's ship.
  const before = (await state(a.page)).me;
  await chat(a.page, "wwwwdddd hello team");
  for (const p of [a, b, d]) await waitFor(p.page, (s) => said(s, "Ada: wwwwdddd hello team"), "the line heard in the room");
  const after = (await state(a.page)).me;
  assert.ok(Math.hypot(after.x - before.x, after.y - before.y) < 1, `A's ship moved while typing: ${JSON.stringify([before, after])}`);
  await a.page.waitForTimeout(300);
  assert.ok(!said(await state(c.page), "hello team"), "C, in another room, heard it");

  // A whisper to Grace: she and Ada see it, Linus does not (he speaks after she heard it, and the first
  // line he hears after the room's is his own).
  await chat(a.page, "/w Grace left side");
  await waitFor(b.page, (s) => s.chat.some((l) => l.kind === "whisper" && l.text === "Ada → you: left side"), "Grace hears the whisper");
  await waitFor(a.page, (s) => s.chat.some((l) => l.kind === "whisper" && l.text === "you → Grace: left side"), "Ada sees it sent");
  await chat(d.page, "anyone?");
  await waitFor(d.page, (s) => said(s, "Linus: anyone?"), "Linus hears himself");
  assert.ok(!(await state(d.page)).chat.some((l) => l.text.includes("left side")), "Linus heard the whisper");

  // Markup is text: shown as typed, no element made, no script run.
  const xss = "<img src=x onerror=alert(1)>";
  await chat(a.page, xss);
  await waitFor(b.page, (s) => said(s, `Ada: ${xss}`), "the markup line heard");
  const shown = await b.page.$$eval("#chat-log li", (lis) => lis.map((li) => li.textContent));
  assert.ok(shown.includes(`Ada: ${xss}`), JSON.stringify(shown));
  assert.equal(await b.page.$$eval("#chat-log img", (imgs) => imgs.length), 0);
  // One line under another (not drawn over each other).
  const tops = await b.page.$$eval("#chat-log li", (lis) => lis.map((li) => li.getBoundingClientRect().top));
  assert.equal(new Set(tops).size, tops.length, `lines drawn over each other at ${tops}`);
  await b.page.screenshot({ path: join(saveDir(), "chat.png") });
  await b.page.waitForTimeout(300);
  for (const p of [a, b, c, d]) {
    assert.deepEqual(p.dialogs, [], "a dialog opened");
    assert.deepEqual(p.errors, [], "console errors");
  }
});
