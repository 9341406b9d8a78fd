// Settings → Assistant: read the assistant's replies aloud. Kept on this device (localStorage),
// not in the account: voices, and whether a device may speak, differ from device to device.
import { useEffect, useState } from "react";
import { canSpeak, useSpokenReplies } from "./speech.ts";

export function SpokenRepliesSetting() {
  const [on, setOn] = useSpokenReplies();
  // The server cannot know whether this browser can speak: decided once mounted.
  const [available, setAvailable] = useState<boolean | null>(null);
  useEffect(() => setAvailable(canSpeak()), []);
  return (
    <section
      className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
      aria-labelledby="assistant-heading"
    >
      <h2 id="assistant-heading" className="text-lg font-semibold">
        Assistant
      </h2>
      <label className="mt-2 inline-flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          checked={on}
          disabled={available !== true}
          aria-describedby="speak-replies-hint"
          onChange={(event) => setOn(event.target.checked)}
        />
        Read the assistant’s replies aloud
      </label>
      <p id="speak-replies-hint" className="mt-1 text-xs text-slate-600">
        {available === false
          ? "This browser cannot read text aloud."
          : "Saved on this device only: voices differ from device to device, so each one has its own setting."}
      </p>
    </section>
  );
}
