// Vite's `?url` imports (vite/client's own declaration would also retype process.env for the
// whole project, which the Node code must not see).
declare module "*.css?url" {
  const href: string;
  export default href;
}
