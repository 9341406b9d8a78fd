// Security headers for every response (OWASP Secure Headers): a nonce-based CSP (Remix's inline
// hydration scripts carry the nonce), no framing, no MIME sniffing, no full referrers off-site,
// and HTTPS only for a year (HSTS; browsers ignore it on plain-http responses, so `make dev` on
// http://localhost is unaffected).
export function securityHeaders(headers: Headers, nonce: string | null): void {
  const script = nonce ? `'self' 'nonce-${nonce}'` : "'self'";
  headers.set(
    "Content-Security-Policy",
    [
      "default-src 'self'",
      `script-src ${script}`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "worker-src 'self'",
      "manifest-src 'self'",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join("; "),
  );
  headers.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  headers.set("X-Content-Type-Options", "nosniff");
  // A page may be stricter (routes/reminders.action.tsx has a token in its URL: no-referrer).
  if (!headers.has("Referrer-Policy")) headers.set("Referrer-Policy", "strict-origin-when-cross-origin");
  headers.set("X-Frame-Options", "DENY");
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  // The microphone for our own pages only: the chat's dictation (browser speech recognition) asks
  // for it; `microphone=()` would refuse it before the user is even asked.
  headers.set("Permissions-Policy", "camera=(), microphone=(self), geolocation=()");
}
