// Every function of functions/ as its index.ts serves it (routes, subscriptions, jobs), for suites
// that exercise all of them in-process: the fuzzer, the isolation matrix, the security checks.
import { randomBytes } from "node:crypto";
import { notificationsEnvSchema } from "#notifications/env.ts";
import type { FunctionDef } from "#platform/host.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import { PUBLIC_TEST_ADDRESS, stubResolver } from "#testing/resolver.ts";
import * as auditLog from "../../functions/audit-log/handler.ts";
import * as completeTask from "../../functions/complete-task/handler.ts";
import * as createTask from "../../functions/create-task/handler.ts";
import * as deadLetters from "../../functions/dead-letters/handler.ts";
import * as deleteTask from "../../functions/delete-task/handler.ts";
import * as mcp from "../../functions/mcp/handler.ts";
import * as assistant from "../../functions/assistant/handler.ts";
import { notificationsFunction } from "../../functions/notifications/handler.ts";
import * as onReminderFired from "../../functions/on-reminder-fired/handler.ts";
import * as onTaskCompleted from "../../functions/on-task-completed/handler.ts";
import * as queryTasks from "../../functions/query-tasks/handler.ts";
import * as updateTask from "../../functions/update-task/handler.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDef = FunctionDef<any>;

export const FUNCTIONS: AnyDef[] = [
  { name: "create-task", routes: createTask.routes, outbox: true },
  { name: "update-task", routes: updateTask.routes, outbox: true },
  { name: "complete-task", routes: completeTask.routes, outbox: true },
  { name: "delete-task", routes: deleteTask.routes, outbox: true },
  { name: "query-tasks", routes: queryTasks.routes },
  { name: "audit-log", routes: auditLog.routes, subscriptions: auditLog.subscriptions },
  { name: "on-task-completed", subscriptions: onTaskCompleted.subscriptions, outbox: true },
  {
    name: "on-reminder-fired",
    // A random key: no token a suite could send verifies, as none of them holds it.
    routes: onReminderFired.reminderActionRoutes({ current: "k1", keys: new Map([["k1", randomBytes(32)]]) }),
    subscriptions: onReminderFired.subscriptions,
    jobs: onReminderFired.jobs,
    outbox: true,
  },
  {
    name: "notifications",
    env: notificationsEnvSchema,
    ...notificationsFunction({
      vapid: generateVapidKeys("mailto:fuzz@orbit.test"),
      // No suite may depend on the machine's DNS: the hosts suites save resolve to a public address.
      resolve: stubResolver({
        "fcm.googleapis.com": [PUBLIC_TEST_ADDRESS],
        "hooks.example.com": [PUBLIC_TEST_ADDRESS],
      }).resolve,
    }),
  },
  { name: "dead-letters", routes: deadLetters.routes, subscriptions: deadLetters.subscriptions },
  { name: "mcp", routes: mcp.routes },
  // Served beside a sidecar with its state store by the suites (startAssistantAlone).
  { name: "assistant", env: assistant.assistantEnvSchema, routes: assistant.routes },
];
