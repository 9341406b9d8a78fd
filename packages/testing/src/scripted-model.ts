// A stand-in for a language model provider, which is outside our reach: a local HTTP server that
// speaks the OpenAI chat-completions wire protocol (POST /v1/chat/completions with `stream: true`,
// answered as Server-Sent Events of `chat.completion.chunk`s, text as `delta.content`, tool calls as
// `delta.tool_calls` whose arguments arrive in pieces, then `[DONE]`). Each test scripts its
// answers in order; every request is recorded so the test can read what the model was shown.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type ScriptedAnswer =
  /** Streamed text, one chunk per element (`delayMs` apart, default at once). */
  | { text: string[]; delayMs?: number }
  /** Tool calls (their JSON arguments split in a few chunks), finish_reason tool_calls. */
  | { toolCalls: { name: string; arguments: Record<string, unknown> }[] }
  /** An HTTP error with an OpenAI-style error body. */
  | { status: number; message: string }
  /** Never answers (the connection stays open until the server closes). */
  | { hang: true };

export interface RecordedRequest {
  headers: http.IncomingHttpHeaders;
  body: {
    model: string;
    stream?: boolean;
    messages: { role: string; content?: unknown; tool_calls?: unknown; tool_call_id?: string }[];
    tools?: { type: string; function: { name: string; description?: string; parameters: unknown } }[];
  };
}

export interface ScriptedModel {
  baseUrl: string;
  requests: RecordedRequest[];
  /** Replaces the script: the next requests get these answers, in order. */
  script(answers: ScriptedAnswer[]): void;
  /** Answers not yet used. */
  remaining(): number;
  close(): Promise<void>;
}

function chunk(id: string, delta: Record<string, unknown>, finish: string | null = null): string {
  const body = {
    id,
    object: "chat.completion.chunk",
    created: 1_767_225_600,
    model: "scripted",
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

export async function startScriptedModel(): Promise<ScriptedModel> {
  let answers: ScriptedAnswer[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
        res.writeHead(404).end();
        return;
      }
      requests.push({ headers: req.headers, body: JSON.parse(Buffer.concat(parts).toString("utf8")) });
      const answer = answers.shift();
      const id = `chatcmpl-${++count}`;
      if (!answer) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "the test scripted no answer for this request" } }));
        return;
      }
      if ("hang" in answer) return;
      if ("status" in answer) {
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: answer.message, type: "server_error" } }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(chunk(id, { role: "assistant", content: "" }));
      if ("text" in answer) {
        const pieces = [...answer.text];
        const next = () => {
          const piece = pieces.shift();
          if (piece === undefined) {
            res.write(chunk(id, {}, "stop"));
            res.end("data: [DONE]\n\n");
            return;
          }
          res.write(chunk(id, { content: piece }));
          if (answer.delayMs) setTimeout(next, answer.delayMs);
          else next();
        };
        next();
        return;
      } else {
        answer.toolCalls.forEach((call, index) => {
          const json = JSON.stringify(call.arguments);
          const third = Math.ceil(json.length / 3);
          res.write(
            chunk(id, {
              tool_calls: [
                {
                  index,
                  id: `call_${count}_${index}`,
                  type: "function",
                  function: { name: call.name, arguments: "" },
                },
              ],
            }),
          );
          for (let at = 0; at < json.length; at += third)
            res.write(
              chunk(id, { tool_calls: [{ index, function: { arguments: json.slice(at, at + third) } }] }),
            );
        });
        res.write(chunk(id, {}, "tool_calls"));
      }
      res.end("data: [DONE]\n\n");
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script(next) {
      answers = [...next];
    },
    remaining: () => answers.length,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
