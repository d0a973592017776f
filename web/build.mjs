// Bundles editor.js (CodeMirror 6) into grader/service/web/static/editor.js; run by `make setup`
// after `npm ci` (the lockfile pins every package). The bundle is built, never committed.
import { build } from "esbuild";
import { readFile } from "node:fs/promises";

// The site's CSP has style-src 'self': no <style> element may apply. CodeMirror's styles come
// from style-mod, which uses a constructed stylesheet (document.adoptedStyleSheets, outside
// CSP's reach) only for shadow roots and a <style> element for a document. One condition in
// its source decides: with it dropped, the document gets the constructed stylesheet too.
const STYLE_MOD_CHECK = "!root.head && root.adoptedStyleSheets";
const adoptedStyles = {
  name: "adopted-styles",
  setup(b) {
    b.onLoad({ filter: /style-mod[\\/]src[\\/]style-mod\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      if (!source.includes(STYLE_MOD_CHECK)) {
        throw new Error(`style-mod changed: '${STYLE_MOD_CHECK}' not found in ${args.path}`);
      }
      return { contents: source.replace(STYLE_MOD_CHECK, "root.adoptedStyleSheets"), loader: "js" };
    });
  },
};

await build({
  entryPoints: ["editor.js"],
  outfile: "../grader/service/web/static/editor.js",
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "linked",
  logLevel: "warning",
  plugins: [adoptedStyles],
});
