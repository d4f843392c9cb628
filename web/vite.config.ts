import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const server = process.env.MADAD_API ?? 'http://127.0.0.1:8787';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': server,
      '/fonts': server,
      '/openapi.json': server,
    },
  },
});
