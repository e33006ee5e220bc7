// node --test: starts `fake-leaf serve`, tests the client against it, stops it.
// FAKE_LEAF (default "fake-leaf") is the command to run.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";

import { LeafClient } from "./leaf-client.mjs";

const OWNER = "ci@example.com";
const PASSWORD = `pw-${process.pid}`;
let server;
let ready;

async function control(method, path, body) {
  const r = await fetch(`${ready.url}/_fake-leaf${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.status < 300, `${method} /_fake-leaf${path}: ${r.status}`);
  return r;
}

before(async () => {
  server = spawn(process.env.FAKE_LEAF ?? "fake-leaf",
    ["serve", "--port", "0", "--quiet", "--ready-json", "--api-owner", `${OWNER}:${PASSWORD}`],
    { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = await once(createInterface({ input: server.stdout }), "line"); // the one JSON ready line
  ready = JSON.parse(line);
});

after(async () => {
  server.kill("SIGTERM"); // a clean stop within 2 s
  const [code] = await once(server, "exit");
  assert.equal(code, 0);
});

beforeEach(async () => {
  await control("POST", "/reset"); // every test starts from an empty fake (faults included)
});

test("a new grower is not connected, then healthy once connected", async () => {
  const client = new LeafClient(ready.url);
  await client.login(OWNER, PASSWORD);
  const id = await client.createUser("Ada Grower");
  assert.equal(await client.credentialHealth(id), "not connected");
  await client.connectJohnDeere(id, "key", "secret", "refresh");
  assert.equal(await client.credentialHealth(id), "healthy");
});

test("a revoked grant needs a reconnect after Leaf's next check", async () => {
  const client = new LeafClient(ready.url);
  await client.login(OWNER, PASSWORD);
  const id = await client.createUser("Ada Grower");
  await client.connectJohnDeere(id, "key", "secret", "refresh");
  await control("POST", `/providers/john-deere/${id}/revoke`);
  await control("POST", "/clock/advance", { seconds: 86400 }); // a day later: Leaf's background check
  assert.equal(await client.credentialHealth(id), "reconnect needed");
});

test("the client retries Leaf's 503", async () => {
  const client = new LeafClient(ready.url);
  await client.login(OWNER, PASSWORD);
  await control("POST", "/faults", { kind: "http_error", status: 503, times: 1, method: "POST", path: "/users" });
  assert.match(await client.createUser("Ada Grower"), /^[0-9a-f-]{36}$/);
  const journal = await (await control("GET", "/journal?method=POST&path=/users")).json();
  assert.deepEqual(journal.map((entry) => entry.status), [503, 201]);
});
