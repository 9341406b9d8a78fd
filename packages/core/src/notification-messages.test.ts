import { describe, expect, it } from "vitest";
import { appLink, escapeHtml, reminderNotification, testNotification } from "./notification-messages.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");
const reminder = {
  task_id: "7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
  user_id: "0e1f2a3b-4c5d-4a1b-8c9d-7b6a5c4d3e2f",
  title: "Pay <rent> & bills",
  due_at: "2026-11-23T17:00:00.000Z",
  remind_at: "2026-11-23T16:45:00.000Z",
  job_name: "reminder-abc",
};

describe("given a reminder for a user in Berlin", () => {
  const message = reminderNotification(reminder, "Europe/Berlin", "https://orbit.example", NOW);

  it("when it is rendered, then the due time is in their zone, named by its IANA name", () => {
    expect(message.body).toBe("Due Mon 23 Nov 2026, 18:00 (Europe/Berlin)");
    expect(message.event).toBe("reminder.due");
    expect(message.emailSubject).toBe("Reminder: Pay <rent> & bills");
  });

  it("when it is rendered, then the link opens the task in the web app, and the mail escapes the title", () => {
    expect(message.url).toBe("https://orbit.example/tasks/7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d");
    expect(message.emailHtml).toBe(
      "<p><strong>Pay &lt;rent&gt; &amp; bills</strong> is due Mon 23 Nov 2026, 18:00 (Europe/Berlin).</p>" +
        `<p><a href="${message.url}">Open the task in Orbit</a></p>`,
    );
  });

  it("when it is sent to a webhook, then its data names the task, both times and the link", () => {
    expect(message.webhookData).toEqual({
      task_id: reminder.task_id,
      title: reminder.title,
      due_at: reminder.due_at,
      remind_at: reminder.remind_at,
      url: message.url,
    });
  });

  it("when a push service holds it, then only until the task is due", () => {
    expect(message.ttlSeconds).toBe(7 * 3600);
  });
});

describe("given a user whose zone is unknown", () => {
  it("when a reminder is rendered, then the due time is in UTC", () => {
    expect(reminderNotification(reminder, "Mars/Olympus", undefined, NOW).body).toBe(
      "Due Mon 23 Nov 2026, 17:00 (UTC)",
    );
  });
});

describe("given no web app URL", () => {
  it("when a reminder is rendered, then its link is relative and the mail has no link", () => {
    const message = reminderNotification(reminder, "UTC", undefined, NOW);
    expect(message.url).toBe("/tasks/7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d");
    expect(message.emailHtml).not.toContain("<a ");
  });
});

describe("given a reminder whose task is overdue or due far ahead", () => {
  it("when a push service holds it, then at least a minute and at most four weeks", () => {
    const overdue = { ...reminder, due_at: "2026-11-23T09:00:00.000Z" };
    const farAhead = { ...reminder, due_at: "2027-11-23T09:00:00.000Z" };
    expect(reminderNotification(overdue, "UTC", undefined, NOW).ttlSeconds).toBe(60);
    expect(reminderNotification(farAhead, "UTC", undefined, NOW).ttlSeconds).toBe(2_419_200);
  });
});

describe("given a test notification", () => {
  it("when it is rendered, then it links to the web app's home and says when it was sent", () => {
    const message = testNotification("https://orbit.example", NOW);
    expect(message).toMatchObject({
      event: "notification.test",
      title: "Orbit test notification",
      taskId: null,
      dueAt: null,
      url: "https://orbit.example/",
      ttlSeconds: 300,
      webhookData: { message: "This is a test notification from Orbit.", sent_at: NOW.toISOString() },
    });
    expect(testNotification(undefined, NOW).url).toBe("/");
  });
});

describe("given text for HTML", () => {
  it("when it is escaped, then every markup character is an entity", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    expect(appLink("https://orbit.example/app/", "/tasks/1")).toBe("https://orbit.example/tasks/1");
  });
});
