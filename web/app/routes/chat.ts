// POST /chat: one turn with the assistant, as JSON `{"conversationId"?, "message", "csrf"}` (the
// chat panel) or a form with the same fields. Answers the assistant's Server-Sent Events as they
// are written (docs/assistant.md), or a problem+json before any stream: 401 signed out, 403 CSRF,
// 400/404 from the assistant, 503 when it is out of reach.
import type { ActionFunctionArgs } from "@remix-run/node";
import { problems } from "#platform/problems.ts";
import { chat } from "../lib/assistant.server.ts";
import { asResponse, chatUser, methodNotAllowed, requireCsrf } from "../lib/chat-route.server.ts";

/** Far above 4,000 characters of message in any encoding; anything larger is not a chat turn. */
const MAX_BODY_BYTES = 64 * 1024;

export function loader() {
  return methodNotAllowed(["POST"]);
}

const tooLarge = () => asResponse(problems.tooLarge(MAX_BODY_BYTES));
const malformed = (detail: string) => asResponse(problems.malformedJson(detail));

/** The request's fields, from JSON or a form; a Response when they cannot be read. */
async function readFields(request: Request): Promise<Record<string, unknown> | Response> {
  const type = request.headers.get("content-type") ?? "";
  if (/^application\/json\b/i.test(type)) {
    const text = await request.text();
    if (text.length > MAX_BODY_BYTES) return tooLarge();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return malformed('The body is not JSON: send {"message": "…"}.');
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      return malformed('The body must be a JSON object: {"message": "…"}.');
    return parsed as Record<string, unknown>;
  }
  if (/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) {
    const fields: Record<string, unknown> = Object.fromEntries(await request.formData());
    // A form sends an empty field for "none".
    if (fields.conversationId === "") delete fields.conversationId;
    return fields;
  }
  return asResponse(problems.unsupportedMediaType(type || undefined));
}

export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== "POST") return methodNotAllowed(["POST"]);
  const user = await chatUser(request);
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) return tooLarge();
  const fields = await readFields(request);
  if (fields instanceof Response) return fields;
  requireCsrf(user, request, fields.csrf);
  // The assistant validates the message and the conversation id (its 400 names the field).
  const body: { conversationId?: unknown; message: unknown } = { message: fields.message };
  if (fields.conversationId !== undefined) body.conversationId = fields.conversationId;
  return chat(user, body, request.signal);
}
