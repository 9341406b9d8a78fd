// The web app's build: Remix on Vite with every v3 future flag on, Tailwind 4, and the repo's
// `#core/*`-style aliases (package.json "imports") resolved for the server build as well.
import { vitePlugin as remix } from "@remix-run/dev";
import tailwindcss from "@tailwindcss/vite";
import { defineConfig } from "vite";
import tsconfigPaths from "vite-tsconfig-paths";

declare module "@remix-run/node" {
  interface Future {
    v3_singleFetch: true;
  }
}

export default defineConfig({
  plugins: [
    tailwindcss(),
    remix({
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_singleFetch: true,
        v3_lazyRouteDiscovery: true,
        v3_routeConfig: true,
      },
    }),
    tsconfigPaths(),
  ],
  build: { target: "es2022" },
  ssr: {
    // Prisma's generated client and pg stay external (node_modules at run time).
    external: ["pg", "@prisma/adapter-pg", "@prisma/client"],
  },
  server: { port: Number(process.env.PORT ?? 3000) },
});
