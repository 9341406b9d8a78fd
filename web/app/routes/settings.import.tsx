// The Todoist import's form posts (components/import-export.tsx): `import-preview` with the file,
// `import-confirm` with the preview's id (web/app/lib/import.server.ts). With JavaScript they are
// fetcher submissions from Settings; without it this page shows their result.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData } from "@remix-run/react";
import { ImportExport } from "../components/import-export.tsx";
import { importAction } from "../lib/import.server.ts";
import { requireUser } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Import and export · Orbit" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  return { csrf: user.csrf, timeZone: user.timeZone };
}

export const action = ({ request }: ActionFunctionArgs) => importAction(request);

export default function ImportPage() {
  const { csrf, timeZone } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Import and export</h1>
      <ImportExport csrf={csrf} timeZone={timeZone} result={result} />
      <Link to="/settings" className="text-sm underline">
        Back to settings
      </Link>
    </div>
  );
}
