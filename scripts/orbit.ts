// Orbit's admin CLI (`npm run orbit -- <command>`; `make token EMAIL=…` wraps the common case).
//   user create <email> [--password P] [--time-zone Z]   create an account
//   token create <email> [--name N] [--scope read|read_write] [--create-user]
//                                                          print a new API token (shown once)
//   token list <email>                                     list a user's tokens
//   token revoke <token-prefix>                            revoke a token
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { isValidTimeZone } from "#core/tasks.ts";
import { createDb, type Db } from "#db/client.ts";
import { hashPassword } from "#platform/passwords.ts";
import { newApiToken } from "#platform/tokens.ts";
import { openDevDatabase } from "./dev-database.ts";

class UsageError extends Error {}

async function createUser(db: Db, email: string, password: string | undefined, timeZone: string) {
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new UsageError(`not an email address: ${email}`);
  if (!isValidTimeZone(timeZone)) throw new UsageError(`not an IANA time zone: ${timeZone}`);
  const secret = password ?? randomBytes(12).toString("base64url");
  const user = await db.user.create({
    data: { email: email.toLowerCase(), passwordHash: await hashPassword(secret), timeZone },
  });
  console.log(`created user ${user.email} (${user.id}), time zone ${timeZone}`);
  if (!password) console.log(`password: ${secret}   (shown once; change it in the web app's settings)`);
  return user;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      password: { type: "string" },
      "time-zone": { type: "string", default: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" },
      name: { type: "string", default: "cli" },
      scope: { type: "string", default: "read_write" },
      "create-user": { type: "boolean", default: false },
    },
  });
  const [noun, verb, arg] = positionals;
  if (!noun || !verb || !arg)
    throw new UsageError("usage: user create <email> | token create|list <email> | token revoke <prefix>");
  const database = await openDevDatabase(false);
  const db = createDb({ url: database.url, poolSize: 2 });
  try {
    if (noun === "user" && verb === "create") {
      await createUser(db, arg, values.password, values["time-zone"]!);
    } else if (noun === "token" && verb === "create") {
      if (values.scope !== "read" && values.scope !== "read_write")
        throw new UsageError("--scope is read or read_write");
      let user = await db.user.findUnique({ where: { email: arg.toLowerCase() } });
      if (!user && values["create-user"])
        user = await createUser(db, arg, values.password, values["time-zone"]!);
      if (!user) throw new UsageError(`no user ${arg} (add --create-user to create it)`);
      const token = newApiToken();
      await db.apiToken.create({
        data: {
          userId: user.id,
          name: values.name!,
          tokenHash: token.hash,
          prefix: token.prefix,
          scope: values.scope,
        },
      });
      console.log(
        `API token "${values.name}" (${values.scope}) for ${user.email} — shown once, keep it safe:`,
      );
      console.log(token.secret);
    } else if (noun === "token" && verb === "list") {
      const user = await db.user.findUnique({
        where: { email: arg.toLowerCase() },
        include: { apiTokens: true },
      });
      if (!user) throw new UsageError(`no user ${arg}`);
      for (const t of user.apiTokens) {
        console.log(
          `${t.prefix}…  ${t.name}  ${t.scope}  created ${t.createdAt.toISOString()}  last used ${t.lastUsedAt?.toISOString() ?? "never"}${t.revokedAt ? "  REVOKED" : ""}`,
        );
      }
    } else if (noun === "token" && verb === "revoke") {
      const { count } = await db.apiToken.updateMany({
        where: { prefix: arg, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      if (count === 0) throw new UsageError(`no active token with prefix ${arg}`);
      console.log(`revoked ${count} token(s)`);
    } else {
      throw new UsageError(`unknown command: ${noun} ${verb}`);
    }
  } finally {
    await db.$disconnect();
    await database.stop();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof UsageError ? `orbit: ${error.message}` : error);
  process.exit(error instanceof UsageError ? 64 : 1);
});
