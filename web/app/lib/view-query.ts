// The query a view's links carry on: the page's own filters, sort and list, without Remix's
// `index` marker (a form posted without JavaScript leaves `/?index` in the address bar, and every
// link built from that query would repeat it) and without the names a link replaces.

/** The page's query minus `index` and the given names (the page `cursor` by default). */
export function viewQuery(params: URLSearchParams, drop: readonly string[] = ["cursor"]): URLSearchParams {
  const next = new URLSearchParams(params);
  next.delete("index");
  for (const name of drop) next.delete(name);
  return next;
}
