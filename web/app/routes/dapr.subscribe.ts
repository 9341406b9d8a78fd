// Dapr's programmatic subscription contract: the sidecar asks once at start which topics this app
// consumes (https://docs.dapr.io/developing-applications/building-blocks/pubsub/subscription-methods/).
import { deadLetterTopic, TOPICS } from "#core/events.ts";

export function loader() {
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
