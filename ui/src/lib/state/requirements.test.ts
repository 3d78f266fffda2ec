import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ipc } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine } from "../../test/fake-engine";
import { REQUIREMENTS } from "../../test/requirements";
import { Requirements } from "./requirements.svelte";

let engine: FakeEngine;

beforeEach(() => {
  engine = installFakeEngine();
});
afterEach(() => clearMocks());

describe("the requirement table", () => {
  it("is asked for once, even by callers that ask at the same time", async () => {
    const gate = deferred();
    engine.gate.set("requirements", gate.promise);
    const r = new Requirements(ipc);
    const first = r.load();
    const second = r.load();
    expect(r.table).toBeNull();
    gate.resolve();
    await Promise.all([first, second]);
    await r.load();
    expect(r.table).toEqual(REQUIREMENTS);
    expect(engine.callsOf("requirements")).toHaveLength(1);
  });

  it("keeps the error of a failed load and asks again on the next load", async () => {
    engine.failNext.set("requirements", { code: "internal", message: "Not yet." });
    const r = new Requirements(ipc);
    await r.load();
    expect(r.table).toBeNull();
    expect(r.error?.message).toBe("Not yet.");
    await r.load();
    expect(r.error).toBeNull();
    expect(r.table?.length).toBe(8);
    expect(engine.callsOf("requirements")).toHaveLength(2);
  });

  it("derives the Okta scopes and the saved order from the rows it was served", async () => {
    const r = new Requirements(ipc);
    expect(r.oktaScopesFor(["licenses"]), "nothing before the table is loaded").toEqual([]);
    await r.load();
    expect(r.oktaScopesFor(["managerEmail"])).toEqual(["okta.users.read"]);
    expect(r.oktaScopesFor(["licenses", "profileSync"])).toEqual(["okta.groups.read", "okta.logs.read", "okta.users.read"]);
    expect(r.oktaScopesFor([])).toEqual([]);
    expect(r.ordered(["imports", "guests", "licenses"])).toEqual(["licenses", "guests", "imports"]);
  });
});
