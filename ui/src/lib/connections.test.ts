// The connection form's rules and words, shared by first run and Settings.
import { describe, expect, it } from "vitest";
import { WIPE_PHRASE } from "../bindings/ipc";
import { connectionView, demoConnections } from "../fixture/data";
import { demoActivity } from "../fixture/mock";
import {
  connectionState,
  describeEstimate,
  describeTimeZone,
  fieldsFrom,
  formatBytes,
  inputFrom,
  secretNoun,
  unsentWrites,
  wipeArmed,
} from "./connections";

describe("a typed connection", () => {
  it("sends no account or realm for a system that signs in with its key alone, nor learning support", () => {
    const view = connectionView("omniforge");
    const input = inputFrom(view, {
      base_url: "  https://sis.example.org/ ",
      account: "left over",
      realm: "left over",
      secret: " key ",
      learning_support: true,
      time_zone: " America/Chicago ",
      requests_per_minute: "",
    });
    expect(input).toEqual({
      system: "omniforge",
      base_url: "https://sis.example.org/",
      account: null,
      realm: null,
      secret: "key",
      learning_support: null,
      time_zone: "America/Chicago",
      requests_per_minute: 0,
    });
  });

  it("sends a gentler pace as a number, and refuses one that is not a whole number", () => {
    const view = connectionView("omniforge");
    const typed = { base_url: "https://sis.example.org", account: "", realm: "", secret: "k", learning_support: false, time_zone: "" };
    expect(inputFrom(view, { ...typed, requests_per_minute: " 30 " }).requests_per_minute).toBe(30);
    expect(() => inputFrom(view, { ...typed, requests_per_minute: "fast" })).toThrow(/not a number of requests a minute/);
    expect(() => inputFrom(view, { ...typed, requests_per_minute: "2.5" })).toThrow(/whole number/);
  });

  it("sends HUBmis's client id, realm and learning-support choice", () => {
    const input = inputFrom(connectionView("hubmis"), {
      base_url: "https://x.hubmis.co.uk",
      account: " office ",
      realm: " ashdown ",
      secret: "s",
      learning_support: false,
      time_zone: "",
      requests_per_minute: "",
    });
    expect([input.account, input.realm, input.learning_support, input.time_zone]).toEqual(["office", "ashdown", false, ""]);
  });

  it("starts from what is saved, never with a secret", () => {
    const hub = demoConnections().find((c) => c.system === "hubmis")!;
    expect(fieldsFrom(hub)).toEqual({
      base_url: "https://ashdown.hubmis.co.uk",
      account: "schooldesk-office",
      realm: "ashdown-house",
      secret: "",
      learning_support: true,
      time_zone: "Europe/London",
      requests_per_minute: "",
    });
    expect(fieldsFrom(connectionView("matrix")).learning_support).toBe(false);
  });
});

describe("the words", () => {
  it("says the first sync's requests and minutes, and when the size was guessed", () => {
    expect(describeEstimate({ requests: 1, minutes: 0, text: "", assumed_students: null })).toBe(
      "First sync: about 1 request, under a minute at the system's pace.",
    );
    expect(describeEstimate({ requests: 420, minutes: 7, text: "", assumed_students: 1500 })).toBe(
      "First sync: about 420 requests, at least 7 minutes at the system's pace (guessed for a district of 1,500 students, as nothing is stored yet).",
    );
  });

  it("tells a connection missing its secret from one that works", () => {
    expect(connectionState(connectionView("matrix")).kind).toBe("idle");
    expect(connectionState(connectionView("matrix", { base_url: "https://m" }))).toEqual({ text: "Connected", kind: "ok" });
    expect(connectionState(connectionView("hubmis", { base_url: "https://h", has_secret: false }))).toEqual({
      text: "Connected, but its client secret is missing from the keychain",
      kind: "bad",
    });
  });

  it("puts the secret's name inside a sentence without losing an acronym", () => {
    expect(secretNoun("Client secret")).toBe("client secret");
    expect(secretNoun("API key")).toBe("API key");
  });

  it("names the computer's zone when the school has none", () => {
    expect(describeTimeZone("Europe/London", "America/Chicago")).toBe("Europe/London");
    expect(describeTimeZone(null, "America/Chicago")).toBe("This computer's (America/Chicago)");
  });

  it("gives sizes in the unit a person reads", () => {
    expect(formatBytes(0)).toBe("Not created yet");
    expect(formatBytes(512)).toBe("512 bytes");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(18_874_368)).toBe("18 MB");
  });
});

describe("the wipe", () => {
  it("is armed only by the exact phrase", () => {
    expect(wipeArmed(WIPE_PHRASE)).toBe(true);
    expect(wipeArmed(`  ${WIPE_PHRASE} `)).toBe(true);
    expect(wipeArmed(WIPE_PHRASE.toUpperCase())).toBe(false);
    expect(wipeArmed("delete")).toBe(false);
    expect(wipeArmed("")).toBe(false);
  });

  it("counts every write it would lose", () => {
    expect(unsentWrites(undefined)).toBe(0);
    expect(unsentWrites(demoActivity())).toBe(4);
  });
});
