import { index, route, type RouteConfig } from "@remix-run/route-config";

export default [
  index("routes/tasks.tsx"),
  route("tasks/:id", "routes/task.tsx"),
  // A reminder's action links (mail: confirm, then act) and buttons (the service worker posts JSON):
  // no session, the signed token is the credential.
  route("reminders/action", "routes/reminders.action.tsx"),
  route("reminders/act", "routes/reminders.act.ts"),
  route("login", "routes/login.tsx"),
  route("signup", "routes/signup.tsx"),
  route("logout", "routes/logout.tsx"),
  route("settings", "routes/settings.tsx"),
  route("settings/email/confirm", "routes/settings.email-confirm.tsx"),
  route("settings/import", "routes/settings.import.tsx"),
  // Downloads: all of a user's data as JSON, their tasks as CSV.
  route("settings/export.json", "routes/settings.export.ts", { id: "export-json" }),
  route("settings/export.csv", "routes/settings.export.ts", { id: "export-csv" }),
  // The assistant: the chat panel's page for browsers without JavaScript, and its resource routes,
  // which pass the assistant function's answers through (docs/assistant.md).
  route("assistant", "routes/assistant.tsx"),
  route("chat", "routes/chat.ts"),
  route("chat/conversations", "routes/chat.conversations.ts"),
  route("chat/conversations/:id", "routes/chat.conversation.ts"),
  route("chat/tasks", "routes/chat.tasks.ts"),
  // Resource routes: live sync (SSE), the Dapr subscription contract, health probes.
  route("live", "routes/live.ts"),
  route("dapr/subscribe", "routes/dapr.subscribe.ts"),
  route("dapr/config", "routes/dapr.config.ts"),
  route("events/task-updates", "routes/events.task-updates.ts"),
  // A user's iCalendar feed for calendar apps: no session, the secret in the URL is the credential.
  route("calendar/:file", "routes/calendar-feed.ts"),
  route("healthz", "routes/healthz.ts", { id: "healthz" }),
  route("readyz", "routes/healthz.ts", { id: "readyz" }),
] satisfies RouteConfig;
