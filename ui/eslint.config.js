// ESLint for the UI: typescript-eslint's type-aware rules on .ts and .svelte, and
// eslint-plugin-svelte's recommended rules (its a11y checks come from the compiler).
import js from "@eslint/js";
import svelte from "eslint-plugin-svelte";
import globals from "globals";
import ts from "typescript-eslint";

export default ts.config(
  { ignores: ["dist/", "dist-fixture/", "node_modules/", "src/bindings/"] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
  {
    files: ["**/*.svelte", "**/*.svelte.ts"],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: [".svelte"] } },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Tests hand shapes around loosely on purpose; the page does not.
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
);
