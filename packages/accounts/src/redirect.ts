// Where to send a browser after sign-in: only a page of our own origin. A prefix check is not
// enough: the URL parser drops tabs and newlines and reads "\" as "/" (WHATWG URL, "basic URL
// parser"), so "/\t/evil.example" becomes "//evil.example". Resolve the target the way the browser
// will, against our origin, and keep only its path, query and fragment.
const ORIGIN = "https://orbit.invalid";

export function safeRedirect(to: FormDataEntryValue | string | null, fallback = "/"): string {
  if (typeof to !== "string" || !to.startsWith("/")) return fallback;
  let url: URL;
  try {
    url = new URL(to, ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== ORIGIN) return fallback;
  // Dot segments can leave a path that starts with "//" ("/.//evil.example"): as a Location it
  // is a network-path reference to another host.
  if (url.pathname.startsWith("//")) return fallback;
  return url.pathname + url.search + url.hash;
}
