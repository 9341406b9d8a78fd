// Confirming a notifications email channel the way a user does: read the confirmation mail the
// smtp binding wrote and send its token back (packages/notifications/src/email-confirmation.ts).
import { expect } from "vitest";
import { api } from "./fixtures.ts";

export const CONFIRMATION_SUBJECT = "Confirm your email address for Orbit reminders";

/** The token in a confirmation mail's link; throws when the mail has none. */
export function confirmationToken(body: string): string {
  const match = /\/settings\/email\/confirm\?token=([A-Za-z0-9_-]{43})/.exec(body);
  if (!match) throw new Error(`no confirmation link in: ${body}`);
  return match[1]!;
}

/**
 * Turns the email channel on for `address` (null: the account's), then confirms it through the
 * link mailed to it. `mailTo` reads what the binding sent to an address, oldest first.
 */
export async function enableConfirmedEmail(
  base: string,
  auth: string,
  address: string | null,
  deliversTo: string,
  mailTo: (to: string) => Promise<{ subject: string; body: string }[]>,
): Promise<void> {
  const put = await api(base, "PUT", "/v1/channels/email", {
    auth,
    body: { enabled: true, email_address: address },
  });
  expect(put.status).toBe(200);
  expect(put.body.address_status).toBe("pending");
  const mails = (await mailTo(deliversTo)).filter((m) => m.subject === CONFIRMATION_SUBJECT);
  expect(mails.length).toBeGreaterThan(0);
  const confirm = await api(base, "POST", "/v1/channels/email/confirm", {
    auth,
    body: { token: confirmationToken(mails.at(-1)!.body) },
  });
  expect(confirm.status).toBe(200);
  expect(confirm.body).toMatchObject({ enabled: true, address_status: "confirmed", delivers_to: deliversTo });
}
