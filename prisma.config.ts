// Prisma CLI configuration: the CLI migrates through its wasm engine and a driver adapter,
// because the native engine cannot be downloaded here (docs/decisions/002-prisma-6-offline-migrations.md).
import { defineConfig } from "prisma/config";
import { cliAdapter } from "./prisma/cli-adapter.ts";

export default defineConfig({
  schema: "prisma/schema.prisma",
  experimental: { adapter: true },
  engine: "js",
  adapter: async () => {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set: run the CLI through `npm run db:*` or `make`");
    return cliAdapter(url);
  },
});
