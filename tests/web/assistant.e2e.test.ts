// The assistant in a real browser against the real topology (harness.ts): the web app's chat panel,
// its /chat routes, the assistant function beside its sidecar, the MCP server it acts through and
// the command functions, on PostgreSQL, with no model configured (the deterministic assistant, the
// `make dev` default). One web world for the whole file.
//
// Faked, because they are outside our reach: the browser's speech recognition (Chromium's sends the
// audio to Google's servers) is replaced by a scripted SpeechRecognition injected with
// page.addInitScript, and speechSynthesis.speak is observed (headless Chromium has no voices).
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { workerDb } from "#testing/worker-db.ts";
import { newUser, rowOf, SHOTS, useWebWorld } from "./harness.ts";

const world = useWebWorld({ apps: ["assistant", "mcp"] });
let db: Db;
beforeAll(async () => {
  db = await workerDb();
});

const panelOf = (page: Page) => page.getByRole("dialog", { name: "Assistant" });
const inputOf = (page: Page) => page.getByLabel("Message the assistant");
const repliesOf = (page: Page) => page.locator("[data-chat-message=assistant]");
/** Types a message, sends it with Enter and waits until the reply is complete. */
async function say(page: Page, message: string) {
  const before = await repliesOf(page).count();
  await inputOf(page).fill(message);
  await inputOf(page).press("Enter");
  const reply = repliesOf(page).nth(before);
  await reply.and(page.locator(":not([data-streaming])")).waitFor();
  return reply;
}

async function openChat(page: Page) {
  await page.getByRole("link", { name: "Ask the assistant" }).click();
  await panelOf(page).waitFor();
}

/** The user's task with this title (one), as stored. */
async function taskNamed(email: string, title: RegExp) {
  const user = await db.user.findUniqueOrThrow({ where: { email } });
  const tasks = await db.task.findMany({ where: { userId: user.id }, include: { reminders: true } });
  return tasks.filter((t) => title.test(t.title));
}

test("a task added, completed and deleted by chat: streamed reply, live cards, the list, a confirmation", async () => {
  const { page, email, context } = await newUser(world);
  await openChat(page);

  // Watch the reply while it streams: its text must be seen growing (more than one state).
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { replyStates: string[] }).replyStates = seen;
    new MutationObserver(() => {
      const streaming = document.querySelector("[data-chat-message=assistant][data-streaming]");
      if (streaming) seen.push(streaming.textContent ?? "");
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const reply = await say(page, "add call mom tomorrow 6pm and remind me an hour before");
  await expect.poll(() => reply.innerText()).toMatch(/call mom/i);
  const states = await page.evaluate(() => (window as unknown as { replyStates: string[] }).replyStates);
  expect(new Set(states).size).toBeGreaterThan(1);

  // The card: its title, due tomorrow 18:00 in the user's zone, a reminder, not completed.
  const card = reply.locator("[data-chat-task-card]");
  await expect.poll(() => card.count()).toBe(1);
  await expect.poll(() => card.locator("[data-due]").innerText()).toBe("Tomorrow 18:00");
  expect(await card.locator("[data-chat-card-reminders]").innerText()).toBe("Reminder: 1 hour before");
  expect(await card.getAttribute("data-status")).toBe("pending");

  // The list shows it (live sync), and it was stored with its reminder an hour before.
  const title = (await card.getByRole("link").innerText()).trim();
  await rowOf(page, title).waitFor();
  await page.screenshot({ path: path.join(SHOTS, "assistant-chat.png") });
  const [stored] = await taskNamed(email, /^call mom$/i);
  expect(stored!.reminders.map((r) => r.offsetMinutes)).toEqual([60]);
  const other = await context.newPage();
  await other.goto(`/tasks/${stored!.id}`);
  await other.getByText("1 hour before").first().waitFor();

  // Completed by chat: the first reply's card turns completed, the list drops the open task.
  await say(page, "complete call mom");
  await expect.poll(() => card.getAttribute("data-status")).toBe("completed");
  expect(await card.getByRole("checkbox").isChecked()).toBe(true);
  await rowOf(page, title).waitFor({ state: "detached" });

  // Reopened in another tab: the card follows through live sync, no reload.
  await other.goto("/?status=completed");
  await other.locator("html[data-live=connected]").waitFor();
  await rowOf(other, title).locator("[data-toggle]").click();
  await expect.poll(() => card.getAttribute("data-status")).toBe("pending");
  expect(await card.getByRole("checkbox").isChecked()).toBe(false);

  // Completed from the card's checkbox: the task is completed (the list's own command).
  await card.getByRole("checkbox").check();
  await expect.poll(async () => (await taskNamed(email, /^call mom$/i))[0]!.status).toBe("completed");
  await expect.poll(() => card.getAttribute("data-status")).toBe("completed");
  await card.getByRole("checkbox").uncheck();
  await expect.poll(async () => (await taskNamed(email, /^call mom$/i))[0]!.status).toBe("pending");

  // Delete asks first; "No" keeps the task.
  await say(page, "delete call mom");
  const confirm = page.locator("[data-chat-confirm]");
  await confirm.getByRole("button", { name: "No" }).click();
  await confirm.waitFor({ state: "detached" });
  await expect.poll(() => repliesOf(page).last().getAttribute("data-streaming")).toBeNull();
  expect(await taskNamed(email, /^call mom$/i)).toHaveLength(1);
  // Asked again, "Yes" deletes it; the card says so.
  await say(page, "delete call mom");
  await confirm.getByRole("button", { name: "Yes" }).click();
  await expect.poll(async () => (await taskNamed(email, /^call mom$/i)).length).toBe(0);
  await expect.poll(() => card.getAttribute("data-status")).toBe("deleted");
  await rowOf(page, title).waitFor({ state: "detached" });

  // History, after a reload: the conversation is listed with its date and opens with its messages.
  await page.reload();
  await openChat(page);
  await page.getByRole("button", { name: "History" }).click();
  const listed = page.getByRole("list", { name: "Past conversations" }).getByRole("listitem");
  await expect.poll(() => listed.count()).toBe(1);
  expect(await listed.first().innerText()).toMatch(/call mom/i);
  expect(await listed.first().locator("time").getAttribute("datetime")).toMatch(/^\d{4}-\d\d-\d\dT/);
  await listed.first().getByRole("button").first().click();
  await page.locator("[data-chat-message=user]").filter({ hasText: "complete call mom" }).waitFor();
  expect(await page.locator("[data-chat-message=user]").count()).toBe(6);
  // Deleting it asks first, then it is gone.
  await page.getByRole("button", { name: "History" }).click();
  await listed
    .first()
    .getByRole("button", { name: /^Delete conversation/ })
    .click();
  await page.getByRole("group", { name: "Confirm delete" }).getByRole("button", { name: "Delete" }).click();
  await page.getByText("No conversations yet.").waitFor();
  await context.close();
});

test("keyboard: a opens the panel with focus in its input, Escape closes it and focus returns", async () => {
  const { page, context } = await newUser(world);
  await page.locator("html[data-live=connected]").waitFor(); // hydrated: the shortcuts listen
  await page.keyboard.press("a");
  await panelOf(page).waitFor();
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("chat-input");
  expect(await page.getByRole("log").getAttribute("aria-live")).toBe("polite");
  // The list's shortcuts do not fire from inside the panel: "a" types, "q" does not jump away.
  await inputOf(page).press("q");
  expect(await inputOf(page).inputValue()).toBe("q");
  await page.keyboard.press("Escape");
  await panelOf(page).waitFor({ state: "detached" });
  expect(await page.evaluate(() => document.activeElement?.hasAttribute("data-chat-launcher"))).toBe(true);
  // Opened from a focused control, Escape returns focus to that control.
  await page.getByRole("button", { name: "Save view" }).focus();
  await page.keyboard.press("a");
  await panelOf(page).waitFor();
  // Escape belongs to the panel once focus is in it (the next frame after it opens; a busy CI
  // pressed Escape before that, while focus was still on "Save view").
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("chat-input");
  await page.keyboard.press("Escape");
  await panelOf(page).waitFor({ state: "detached" });
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Save view");
  // The shortcut is listed in the help line.
  expect(await page.getByText(/Shortcuts:/).innerText()).toContain("a assistant");
  await context.close();
});

test("without JavaScript, Ask the assistant leads to a page that says the assistant needs it", async () => {
  const { context } = await newUser(world);
  const noScript = await world.browser.newContext({
    baseURL: world.baseUrl,
    javaScriptEnabled: false,
    storageState: await context.storageState(),
  });
  const page = await noScript.newPage();
  await page.goto("/");
  await page.getByRole("link", { name: "Ask the assistant" }).click();
  await page.waitForURL(`${world.baseUrl}/assistant`);
  await page.getByRole("heading", { name: "The assistant needs JavaScript" }).waitFor();
  expect(await page.locator("form").count()).toBe(1); // the header's sign-out form only, no chat form
  await noScript.close();
  await context.close();
});

/** A SpeechRecognition that "hears" what the test says: the interim words at start, the final on cue. */
function scriptedRecognition() {
  type Result = { transcript: string }[] & { isFinal: boolean };
  const result = (transcript: string, isFinal: boolean): Result =>
    Object.assign([{ transcript }], { isFinal });
  class ScriptedRecognition {
    lang = "";
    interimResults = false;
    continuous = false;
    maxAlternatives = 1;
    onresult: ((event: unknown) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    onend: (() => void) | null = null;
    start() {
      const w = window as unknown as { recognition: ScriptedRecognition };
      w.recognition = this;
      setTimeout(() => this.onresult?.({ resultIndex: 0, results: [result("add water the", false)] }), 0);
    }
    hear(text: string) {
      this.onresult?.({ resultIndex: 0, results: [result(text, true)] });
      this.onend?.();
    }
    fail(error: string) {
      this.onerror?.({ error });
      this.onend?.();
    }
    stop() {
      this.onend?.();
    }
    abort() {
      this.onend?.();
    }
  }
  Object.assign(window, { SpeechRecognition: ScriptedRecognition, webkitSpeechRecognition: undefined });
}

test("voice: dictation shows the words heard, sends the final text, and the task is created", async () => {
  const { page, context, email } = await newUser(world);
  await context.addInitScript(scriptedRecognition);
  await page.reload();
  await openChat(page);
  await page.getByRole("button", { name: "Dictate a message" }).click();
  await page.locator("[data-chat-listening]").waitFor();
  expect(await page.getByRole("button", { name: "Stop listening" }).getAttribute("aria-pressed")).toBe(
    "true",
  );
  await expect.poll(() => inputOf(page).inputValue()).toBe("add water the");
  await page.evaluate(() =>
    (window as unknown as { recognition: { hear(text: string): void } }).recognition.hear(
      "add water the plants tomorrow 9am",
    ),
  );
  await page.locator("[data-chat-listening]").waitFor({ state: "detached" });
  await page
    .locator("[data-chat-message=user]")
    .filter({ hasText: "add water the plants tomorrow 9am" })
    .waitFor();
  await expect.poll(async () => (await taskNamed(email, /^water the plants$/i)).length).toBe(1);
  expect(await inputOf(page).inputValue()).toBe("");

  // A refused microphone is said in words.
  await page.getByRole("button", { name: "Dictate a message" }).click();
  await page.evaluate(() =>
    (window as unknown as { recognition: { fail(error: string): void } }).recognition.fail("not-allowed"),
  );
  expect(await page.locator("[data-chat-voice-error]").innerText()).toContain("may not use the microphone");
  await context.close();
});

test("voice: where the browser has no speech recognition, a note replaces the microphone", async () => {
  const { page, context } = await newUser(world);
  await context.addInitScript(() => {
    Object.assign(window, { SpeechRecognition: undefined, webkitSpeechRecognition: undefined });
  });
  await page.reload();
  await openChat(page);
  await page.locator("[data-chat-voice-unavailable]").waitFor();
  expect(await page.locator("[data-chat-voice-unavailable]").innerText()).toBe(
    "Voice input isn’t available in this browser — type instead.",
  );
  expect(await page.getByRole("button", { name: "Dictate a message" }).count()).toBe(0);
  await context.close();
});

async function observeSpeech(context: BrowserContext) {
  await context.addInitScript(() => {
    const spoken: string[] = [];
    Object.assign(window, { spoken });
    window.speechSynthesis.speak = (utterance: SpeechSynthesisUtterance) => {
      spoken.push(utterance.text);
    };
  });
}

test("spoken replies: off by default; on in Settings (this device), each reply is read aloud", async () => {
  const { page, context } = await newUser(world);
  await observeSpeech(context);
  await page.reload();
  const spoken = () => page.evaluate(() => (window as unknown as { spoken: string[] }).spoken);
  await openChat(page);
  await say(page, "add buy milk tomorrow");
  expect(await spoken()).toEqual([]);

  await page.goto("/settings");
  const setting = page.getByLabel("Read the assistant’s replies aloud");
  expect(await setting.isChecked()).toBe(false);
  await setting.check();
  await page.goto("/");
  await openChat(page);
  // The tab's conversation comes back on open; a new one keeps this turn's reply apart. ("New", exactly:
  // the lists bar has "+ New list".)
  await page.locator("[data-chat-message=assistant]").first().waitFor();
  await page.getByRole("button", { name: "New", exact: true }).click();
  const reply = await say(page, "what's due tomorrow?");
  const text = await reply.locator("[data-chat-text]").innerText();
  expect(text).toMatch(/buy milk/i);
  await expect.poll(spoken).toEqual([text]);
  await context.close();
});

test("the assistant out of reach: a 503 in words, and the typed message is kept", async () => {
  const { page, context } = await newUser(world);
  await openChat(page);
  await world.topology.kill("assistant", "app");
  try {
    await inputOf(page).fill("add pay rent friday");
    await inputOf(page).press("Enter");
    expect(await page.locator("[data-chat-problem]").innerText()).toBe(
      "Orbit cannot reach its assistant right now. What you typed is kept: try again in a moment.",
    );
    expect(await inputOf(page).inputValue()).toBe("add pay rent friday");
    expect(await page.locator("[data-chat-message]").count()).toBe(0);
  } finally {
    await world.topology.restart("assistant", "app");
  }
  // Back: the same message goes through.
  await inputOf(page).press("Enter");
  await page.locator("[data-chat-task-card]").waitFor();
  await context.close();
});

test("the /chat routes: signed out 401, a write without the CSRF token 403, a bad body 4xx, never 500", async () => {
  const anonymous = await world.browser.newContext({ baseURL: world.baseUrl });
  const post = await anonymous.request.post("/chat", { data: { message: "hi" } });
  expect(post.status()).toBe(401);
  expect(post.headers()["content-type"]).toContain("application/problem+json");
  expect((await anonymous.request.get("/chat/conversations")).status()).toBe(401);
  await anonymous.close();

  const { page, context } = await newUser(world);
  expect((await page.request.post("/chat", { data: { message: "hi" } })).status()).toBe(403);
  const csrf = await page.locator("input[name=csrf]").first().inputValue();
  const headers = { "X-CSRF-Token": csrf };
  expect(
    (
      await page.request.post("/chat", {
        headers: { ...headers, "Content-Type": "application/json" },
        data: "{nope",
      })
    ).status(),
  ).toBe(400);
  const empty = await page.request.post("/chat", { headers, data: { message: "   " } });
  expect(empty.status()).toBe(400);
  expect(JSON.stringify(await empty.json())).toContain("message");
  const unknown = await page.request.post("/chat", {
    headers,
    data: { conversationId: "00000000-0000-4000-8000-000000000000", message: "hi" },
  });
  expect(unknown.status()).toBe(404);
  const del = await page.request.delete("/chat/conversations/00000000-0000-4000-8000-000000000000");
  expect(del.status()).toBe(403);
  await context.close();
});
