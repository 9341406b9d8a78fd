// Reading a Server-Sent Events stream that arrives in arbitrary chunks: the web app's chat panel
// reads the assistant's reply with fetch() (EventSource cannot POST), so it parses the frames
// itself, by the rules of the HTML standard's "event stream interpretation"
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).

export interface SseEvent {
  /** The `event:` field, "message" when the frame has none. */
  event: string;
  /** The `data:` lines joined by "\n". */
  data: string;
  /** The last `id:` seen so far in the stream (it carries over to later frames), "" if none. */
  id: string;
}

export interface SseParser {
  /** Feeds the next chunk of text; calls `onEvent` for each frame it completes. */
  push(chunk: string): void;
  /** The stream ended: a frame without its blank line is discarded, as the standard says. */
  end(): void;
}

export function createSseParser(onEvent: (event: SseEvent) => void): SseParser {
  let buffer = "";
  // A chunk that ended on "\r" may continue with "\n": the pair is one line break.
  let skipLeadingLf = false;
  let eventType = "";
  let data: string[] = [];
  let lastId = "";

  const dispatch = () => {
    if (data.length > 0) onEvent({ event: eventType || "message", data: data.join("\n"), id: lastId });
    eventType = "";
    data = [];
  };

  const line = (text: string) => {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return; // a comment (heartbeats)
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") eventType = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) lastId = value;
    // `retry` only concerns EventSource's reconnection; unknown fields are ignored.
  };

  return {
    push(chunk) {
      if (skipLeadingLf && chunk.startsWith("\n")) chunk = chunk.slice(1);
      skipLeadingLf = false;
      buffer += chunk;
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const char = buffer[i];
        if (char !== "\n" && char !== "\r") continue;
        line(buffer.slice(start, i));
        if (char === "\r") {
          if (i + 1 === buffer.length) skipLeadingLf = true;
          else if (buffer[i + 1] === "\n") i++;
        }
        start = i + 1;
      }
      buffer = buffer.slice(start);
    },
    end() {
      buffer = "";
      eventType = "";
      data = [];
    },
  };
}
