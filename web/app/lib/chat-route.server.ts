// What the chat's resource routes share: the signed-in user, or a 401 problem (these are fetched
// by the chat panel, which shows the problem, so no redirect to the sign-in page), and the CSRF
// check of a write (the token in the `X-CSRF-Token` header, or a `csrf` field of the body).
import { verifyCsrfToken } from "#accounts/csrf.ts";
import { problems, ProblemType, type Problem } from "#platform/problems.ts";
import { problemResponse } from "./assistant.server.ts";
import { currentUser, type CurrentUser } from "./session.server.ts";

export async function chatUser(request: Request): Promise<CurrentUser> {
  const user = await currentUser(request);
  if (user) return user;
  throw problemResponse({
    type: ProblemType.unauthorized,
    title: "Unauthorized",
    status: 401,
    detail: "Your session has ended. Sign in again to talk to the assistant.",
  });
}

export function requireCsrf(user: CurrentUser, request: Request, field?: unknown): void {
  const token = request.headers.get("x-csrf-token") ?? field;
  if (verifyCsrfToken(user.csrfSecret, token)) return;
  throw asResponse(
    problems.forbidden(
      "The page expired or the request did not come from Orbit. Reload the page and try again.",
    ),
  );
}

export function asResponse(problem: Problem): Response {
  return problemResponse(problem.body, problem.headers);
}

export function methodNotAllowed(allowed: string[]): Response {
  return asResponse(problems.methodNotAllowed(allowed));
}
