/// <reference types="vitest/config" />
import { defineConfig, type Connect, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

// Two pages: index.html (the app, SPA) and graphiql.html (served by the Go
// server at /graphiql). Each page loads only its own entry chunk, so GraphiQL
// never lands in the app's bundle. dist/ is emptied by scripts/clean-dist.mjs
// (keeping dist/.gitkeep for go:embed), hence emptyOutDir: false.
//
// In `npm run dev`, API calls are proxied to TESLA_API (default the Go server
// on 127.0.0.1:8080).
const api = process.env.TESLA_API ?? 'http://127.0.0.1:8080';

// The Go server maps /graphiql to graphiql.html; do the same in dev and preview.
const rewriteGraphiql: Connect.NextHandleFunction = (req, _res, next) => {
  if (req.url && /^\/graphiql\/?(\?|$)/.test(req.url)) req.url = req.url.replace(/^\/graphiql\/?/, '/graphiql.html');
  next();
};
const graphiqlRoute: Plugin = {
  name: 'tesla-graphiql-route',
  configureServer: (server) => void server.middlewares.use(rewriteGraphiql),
  configurePreviewServer: (server) => void server.middlewares.use(rewriteGraphiql),
};

export default defineConfig({
  base: '/',
  plugins: [react(), graphiqlRoute],
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    rolldownOptions: {
      // graphiql's react-compiler-runtime has a "use no memo" directive that
      // bundlers drop; harmless, so keep it out of the build log.
      onLog(level, log, handler) {
        if (log.code === 'MODULE_LEVEL_DIRECTIVE' && /react-compiler-runtime/.test(`${log.id ?? ''}${log.message}`)) return;
        handler(level, log);
      },
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        graphiql: resolve(import.meta.dirname, 'graphiql.html'),
      },
    },
  },
  server: {
    proxy: {
      '/query': { target: api, ws: true, changeOrigin: false },
      '/api': { target: api, changeOrigin: false },
    },
  },
  test: {
    environment: 'node',
    include: ['test/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
