// Output bindings (POST /v1.0/bindings/{name}). Locally only bindings.smtp is served, and it does
// not talk to an SMTP server: that server is outside our reach, so this stands in for it by writing
// each message as a JSON file into `localOutboxDir` (default .data/mail) and a row in
// dapr_local.sent_mail, where developers and tests read what would have been sent. Fields and
// defaults follow components-contrib bindings/smtp (component metadata emailFrom/emailTo/emailCc/
// emailBcc/subject/priority, overridden per request by emailFrom/emailTo/emailCC/emailBCC/subject/priority).
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";
import { ApiError, parseJsonBody, readBody, sendEmpty, type Router } from "./http-util.ts";
import type { ComponentResource } from "./resources.ts";

type Obj = Record<string, unknown>;

function invokeError(name: string, detail: string): ApiError {
  return new ApiError(500, "ERR_INVOKE_OUTPUT_BINDING", `error invoking output binding ${name}: ${detail}`);
}

/** The smtp binding's body: a JSON string is unquoted, anything else is sent as its JSON text. */
function mailBody(data: unknown): string {
  if (data === undefined || data === null) return "";
  return typeof data === "string" ? data : JSON.stringify(data);
}

export class OutputBindings {
  constructor(
    private readonly pool: pg.Pool,
    private readonly appId: string,
    private readonly bindings: Map<string, ComponentResource>,
    private readonly cwd: string,
  ) {}

  async invoke(name: string, body: unknown): Promise<void> {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new ApiError(400, "ERR_MALFORMED_REQUEST", 'the body must be {"operation", "data", "metadata"}');
    }
    const request = body as Obj;
    const binding = this.bindings.get(name);
    if (!binding) throw invokeError(name, `couldn't find output binding ${name}`);
    if (typeof request.operation !== "string" || !request.operation) {
      throw new ApiError(400, "ERR_MALFORMED_REQUEST", "operation is required");
    }
    const metadata: Record<string, string> = {};
    if (request.metadata !== null && typeof request.metadata === "object") {
      for (const [k, v] of Object.entries(request.metadata as Obj)) metadata[k] = String(v);
    }
    if (request.operation !== "create") {
      throw invokeError(
        name,
        `binding ${name} does not support operation ${request.operation}. supported operations: create`,
      );
    }
    await this.sendMail(binding, metadata, request.data);
  }

  private async sendMail(
    binding: ComponentResource,
    metadata: Record<string, string>,
    data: unknown,
  ): Promise<void> {
    const pick = (request: string, component: string) =>
      metadata[request] || binding.metadata[component] || "";
    const mail = {
      from: pick("emailFrom", "emailFrom"),
      to: pick("emailTo", "emailTo"),
      cc: pick("emailCC", "emailCc"),
      bcc: pick("emailBCC", "emailBcc"),
      subject: pick("subject", "subject"),
      priority: pick("priority", "priority"),
      body: mailBody(data),
    };
    if (!mail.from) throw invokeError(binding.name, "smtp binding error: emailFrom property not supplied");
    if (!mail.to) throw invokeError(binding.name, "smtp binding error: emailTo property not supplied");
    const sentAt = new Date();
    const dir = path.resolve(this.cwd, binding.metadata.localOutboxDir || ".data/mail");
    const file = path.join(dir, `${sentAt.toISOString().replace(/[:.]/g, "-")}-${randomUUID()}.json`);
    await mkdir(dir, { recursive: true });
    await writeFile(
      file,
      JSON.stringify(
        { ...mail, app_id: this.appId, binding: binding.name, sent_at: sentAt.toISOString() },
        null,
        2,
      ),
    );
    await this.pool.query(
      `INSERT INTO dapr_local.sent_mail
         (app_id, binding, email_from, email_to, email_cc, email_bcc, subject, body, priority, file, sent_at)
       VALUES ($1, $2, $3, $4, NULLIF($5, ''), NULLIF($6, ''), $7, $8, NULLIF($9, ''), $10, $11)`,
      [
        this.appId,
        binding.name,
        mail.from,
        mail.to,
        mail.cc,
        mail.bcc,
        mail.subject,
        mail.body,
        mail.priority,
        file,
        sentAt,
      ],
    );
  }
}

export function registerBindingsRoutes(router: Router, bindings: OutputBindings): void {
  router.on(["POST", "PUT"], "/v1.0/bindings/:name", async ({ req, res, params }) => {
    await bindings.invoke(params.name!, parseJsonBody(await readBody(req)));
    sendEmpty(res);
  });
}
