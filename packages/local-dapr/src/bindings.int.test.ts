// Conformance: output bindings, with bindings.smtp writing to the local outbox instead of an SMTP
// server (which is outside our reach).
import { readFile } from "node:fs/promises";
import { afterEach, expect, test } from "vitest";
import { listSentMail } from "./inspect.ts";
import { call, cleanupAll, db, resourcesDir, sidecar, tempDir, uid } from "./test-support.ts";

afterEach(cleanupAll);

async function mailSidecar() {
  const outbox = await tempDir();
  const resources = await resourcesDir({
    "email.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: email
spec:
  type: bindings.smtp
  version: v1
  metadata:
    - name: host
      value: localhost
    - name: port
      value: 25
    - name: emailFrom
      value: orbit@example.test
    - name: subject
      value: Orbit
    - name: localOutboxDir
      value: ${outbox}
`,
  });
  const started = await sidecar({ appId: uid("mail"), resourcesPath: resources });
  return { port: started.httpPort, appId: started.appId };
}

test("bindings.smtp writes each message as a JSON file in localOutboxDir and a row in dapr_local.sent_mail", async () => {
  const { port, appId } = await mailSidecar();
  const response = await call(port, "POST", "/v1.0/bindings/email", {
    operation: "create",
    data: "Your task is due.",
    metadata: { emailTo: "ada@example.test", subject: "Reminder" },
  });
  expect(response.status).toBe(204);
  const [mail] = await listSentMail(await db(), appId);
  expect(mail).toMatchObject({
    binding: "email",
    from: "orbit@example.test",
    to: "ada@example.test",
    subject: "Reminder",
    body: "Your task is due.",
  });
  expect(JSON.parse(await readFile(mail!.file!, "utf8"))).toMatchObject({
    from: "orbit@example.test",
    to: "ada@example.test",
    subject: "Reminder",
    body: "Your task is due.",
  });
});

test("the component's subject is the default when the request gives none; object data is sent as JSON", async () => {
  const { port, appId } = await mailSidecar();
  await call(port, "POST", "/v1.0/bindings/email", {
    operation: "create",
    data: { html: "<b>hi</b>" },
    metadata: { emailTo: "bob@example.test" },
  });
  const [mail] = await listSentMail(await db(), appId);
  expect(mail).toMatchObject({ subject: "Orbit", body: '{"html":"<b>hi</b>"}' });
});

test("a message without a recipient fails with 500 ERR_INVOKE_OUTPUT_BINDING naming emailTo", async () => {
  const { port } = await mailSidecar();
  const response = await call(port, "POST", "/v1.0/bindings/email", { operation: "create", data: "x" });
  expect(response.status).toBe(500);
  expect(response.json).toMatchObject({ errorCode: "ERR_INVOKE_OUTPUT_BINDING" });
  expect((response.json as { message: string }).message).toContain("emailTo");
});

test("an unknown binding or an unsupported operation is 500 ERR_INVOKE_OUTPUT_BINDING", async () => {
  const { port } = await mailSidecar();
  const unknown = await call(port, "POST", "/v1.0/bindings/sms", { operation: "create", data: "x" });
  expect(unknown.status).toBe(500);
  expect(unknown.json).toMatchObject({ errorCode: "ERR_INVOKE_OUTPUT_BINDING" });
  const operation = await call(port, "POST", "/v1.0/bindings/email", { operation: "delete", data: "x" });
  expect(operation.status).toBe(500);
  expect((operation.json as { message: string }).message).toContain("supported operations: create");
});
