// Dapr's programmatic subscription contract: the sidecar asks once at start which topics this app
// consumes (https://docs.dapr.io/developing-applications/building-blocks/pubsub/subscription-methods/).
// It sends the app API token, as on every call to the app: nobody else needs to ask.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { deadLetterTopic, TOPICS } from "#core/events.ts";
import { refuseUnlessSidecar } from "../lib/delivery.server.ts";

export function loader({ request }: LoaderFunctionArgs) {
  const refused = refuseUnlessSidecar(request);
  if (refused) return refused;
  return Response.json([
    {
      pubsubname: process.env.PUBSUB_NAME ?? "pubsub",
      topic: TOPICS.taskUpdates,
      routes: { default: "/events/task-updates" },
      // Dropped (malformed) updates are kept by dead-letters like every consumer's.
      deadLetterTopic: deadLetterTopic(TOPICS.taskUpdates),
    },
  ]);
}
