import type { HeadersFunction } from "@remix-run/node";

/**
 * A route's `headers` for forms an account limit guards (sign-in, sign-up): a document POST
 * renders the page, so the action's Retry-After reaches the response only from here.
 */
export const retryAfterHeaders: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};
